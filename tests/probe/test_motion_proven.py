"""image.motion_proven (lets the probe skip decoding the second keyframe) on real decoded frames.

Frames are decoded the way the probe decodes them (camcheck.probe.decode: keyframe plus the
P-frames right after it, no deblocking on the P-frames) from the simulator's cached clips.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from camcheck.probe.decode import Picture, decode_batches
from camcheck.probe.image import (
    FRAMES_AFTER_KEYFRAME,
    MOTION_PROOF_FRAMES,
    DecodedFrame,
    MotionProof,
    motion_proven,
)
from camcheck.simulator.media import ClipSpec, load_clip

pytestmark = pytest.mark.timeout(120)


@functools.cache
def windows(look: str) -> tuple[tuple[DecodedFrame, ...], ...]:
    """(K1, frames after it) for every keyframe of the clip, decoded as the probe does."""
    # The clips test_image.py uses (cached by the simulator after the first run).
    spec = ClipSpec("h264", 320, 180, 25, 25, 256, scene="street", look=look, seconds=4.0)
    aus = load_clip(spec).access_units
    out = []
    for i, au in enumerate(aus):
        if not au.keyframe or i + FRAMES_AFTER_KEYFRAME >= len(aus):
            continue
        batch = [(b"".join(b"\x00\x00\x00\x01" + n for n in a.nals), k * 3600, a.keyframe)
                 for k, a in enumerate(aus[i : i + 1 + FRAMES_AFTER_KEYFRAME])]
        pictures = decode_batches("h264", [batch]).pictures
        assert len(pictures) == 1 + FRAMES_AFTER_KEYFRAME
        out.append(tuple(DecodedFrame(p.luma, p.timestamp / 90000, p.keyframe) for p in pictures))
    assert out
    return tuple(out)


@pytest.mark.parametrize("look", ["static", "frozen", "night", "black", "covered"])
def test_still_and_frozen_pictures_never_prove_motion(look: str) -> None:
    for w in windows(look):
        assert not motion_proven(w[0], w[1:])


def test_a_moving_scene_proves_motion_in_some_windows() -> None:
    assert any(motion_proven(w[0], w[1:]) for w in windows("normal"))


def test_motion_proven_needs_frames_to_compare_and_checks_them() -> None:
    w = windows("normal")[0]
    assert not motion_proven(w[0], [])
    assert not motion_proven(w[0], [w[0]])  # the keyframe against itself: nothing moved
    with pytest.raises(ValueError, match="2-D uint8"):
        motion_proven(w[0], [DecodedFrame(np.zeros((64, 64, 3), np.uint8), 0.04, False)])


def test_decode_stops_at_the_first_picture_that_is_enough() -> None:
    spec = ClipSpec("h264", 320, 180, 25, 25, 256, scene="street", look="normal", seconds=4.0)
    aus = load_clip(spec).access_units
    k = [i for i, au in enumerate(aus) if au.keyframe][:2]

    def unit(i: int) -> tuple[bytes, int, bool]:
        return b"".join(b"\x00\x00\x00\x01" + n for n in aus[i].nals), i * 3600, aus[i].keyframe

    # K1 and 3 frames after it, then K2 in a batch of its own: 5 pictures in all.
    batches = [[unit(i) for i in range(k[0], k[0] + 4)], [unit(k[1])]]
    assert len(decode_batches("h264", batches).pictures) == 5
    asked: list[int] = []

    def enough(first: Picture, latest: Picture) -> bool:
        assert first.timestamp == k[0] * 3600
        asked.append(latest.timestamp // 3600)
        return latest.timestamp == (k[0] + 2) * 3600

    out = decode_batches("h264", batches, enough=enough)
    assert asked == [k[0] + 1, k[0] + 2]  # asked after each picture past the first, never again once satisfied
    # Only the first and the latest picture are kept (the others' buffers go back to the decoder).
    assert [p.timestamp for p in out.pictures] == [k[0] * 3600, (k[0] + 2) * 3600]
    asked.clear()
    out = decode_batches("h264", batches, enough=lambda first, latest: asked.append(latest.timestamp // 3600) or False)
    assert asked == [k[0] + 1, k[0] + 2, k[0] + 3, k[1]]
    assert [p.timestamp for p in out.pictures] == [k[0] * 3600, k[1] * 3600]


def test_real_motion_is_proven_within_the_frames_the_probe_keeps() -> None:
    """The moving street proves motion within MOTION_PROOF_FRAMES in every window (the point of
    keeping that many: the second keyframe is then never needed for a moving scene)."""
    for look, moving in (("normal", True), ("static", False), ("night", False), ("frozen", False)):
        spec = ClipSpec("h264", 640, 360, 25, 25, 512, scene="street", look=look, seconds=4.0)
        aus = load_clip(spec).access_units
        starts = [i for i, au in enumerate(aus) if au.keyframe and i + MOTION_PROOF_FRAMES < len(aus)]
        assert starts
        for i in starts:
            batch = [(b"".join(b"\x00\x00\x00\x01" + n for n in a.nals), j * 3600, a.keyframe)
                     for j, a in enumerate(aus[i : i + 1 + MOTION_PROOF_FRAMES])]
            pictures = decode_batches("h264", [batch]).pictures
            frames = [DecodedFrame(p.luma, p.timestamp / 90000, p.keyframe) for p in pictures]
            proof = MotionProof(frames[0])
            assert any(proof.shows_motion(f) for f in frames[1:]) is moving, (look, i)
