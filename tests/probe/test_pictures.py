"""The probe's two picture passes (camcheck.probe.pictures) on access units of the simulator's clips."""

from __future__ import annotations

import functools

import pytest

from camcheck.probe.decode import decode_batches
from camcheck.probe.image import MOTION_PROOF_FRAMES, DecodedFrame, analyse
from camcheck.probe.pictures import INLINE_MAX_PIXELS, PictureJob, Unit, first_pass, run_pass, second_pass
from camcheck.simulator.media import ClipSpec, load_clip

pytestmark = pytest.mark.timeout(120)
CLOCK = 90000
STEP = CLOCK // 25


@functools.cache
def clip(look: str, width: int = 320) -> tuple[tuple[bytes, bool], ...]:
    spec = ClipSpec("h264", width, width * 9 // 16, 25, 25, width * 4 // 5, scene="street", look=look, seconds=4.0)
    return tuple((b"".join(b"\x00\x00\x00\x01" + n for n in au.nals), au.keyframe) for au in load_clip(spec).access_units)


def units(look: str, width: int = 320) -> tuple[list[Unit], Unit]:
    """K1 and MOTION_PROOF_FRAMES frames after it, and K2 (the next keyframe, 1 s later). K1 is the
    clip's second keyframe: its first second settles (as in bench/calibrate_image.py)."""
    aus = clip(look, width)
    keys = [i for i, (_, key) in enumerate(aus) if key]
    k1, k2 = keys[1], keys[2]
    first = [(aus[i][0], i * STEP, aus[i][1]) for i in range(k1, k1 + 1 + MOTION_PROOF_FRAMES)]
    return first, (aus[k2][0], k2 * STEP, True)


JOB = PictureJob("h264", CLOCK)


def test_a_moving_scene_needs_no_second_keyframe() -> None:
    first, _k2 = units("normal")
    fp = first_pass(JOB, first)
    assert fp.first is not None and fp.moving
    assert fp.timestamp == first[0][1] and (fp.width, fp.height) == (320, 180)
    result = second_pass(JOB, fp, None)
    assert result.analysis is not None and result.analysis.findings == []
    assert result.analysis.measures["change"] is None  # K2 was not used


@pytest.mark.parametrize("look", ["frozen", "static"])
def test_a_still_scene_is_judged_with_the_second_keyframe(look: str) -> None:
    first, k2 = units(look)
    fp = first_pass(JOB, first)
    assert fp.first is not None and not fp.moving
    result = second_pass(JOB, fp, k2)
    assert result.analysis is not None
    assert result.analysis.measures["key_gap"] == pytest.approx((k2[1] - first[0][1]) / CLOCK)
    assert ("frozen" in result.analysis.findings) is (look == "frozen")
    # The same verdict as analysing all those pictures in one go.
    pictures = decode_batches("h264", [first, [k2]]).pictures
    frames = [DecodedFrame(p.luma, (p.timestamp - first[0][1]) / CLOCK, p.keyframe) for p in pictures]
    assert result.analysis.findings == analyse(frames).findings


def test_a_keyframe_that_does_not_decode_is_replaced_by_the_second() -> None:
    first, k2 = units("normal")
    broken = [(b"\x00\x00\x00\x01\x65" + b"\xff" * 64, first[0][1], True)] + first[1:]
    fp = first_pass(JOB, broken)
    assert fp.first is None and not fp.moving
    result = second_pass(JOB, fp, k2)
    assert result.analysis is not None and result.analysis.measures["brightness"] is not None
    assert second_pass(JOB, fp, None).analysis is None  # nothing decoded: the probe says decode_failed


def test_snapshot_comes_from_the_freshest_keyframe() -> None:
    first, k2 = units("static")
    job = PictureJob("h264", CLOCK, want_snapshot=True, snapshot_max_width=160)
    fp = first_pass(job, first)
    assert fp.snapshot_jpeg and fp.snapshot_jpeg.startswith(b"\xff\xd8")
    result = second_pass(job, fp, k2)
    assert result.snapshot_jpeg and result.snapshot_jpeg != fp.snapshot_jpeg


def test_what_the_first_pass_keeps_holds_no_decoded_frame() -> None:
    """Between the passes a probe keeps K1's small views only: a view into the decoder's frame would
    keep the frame (and its decoder's buffer pool) alive for every probe waiting for K2."""
    first, _k2 = units("static", 640)  # 640 px wide: the decoder's luma rows are contiguous, a view is easy
    fp = first_pass(JOB, first)
    assert fp.first is not None
    kept = fp.first._picture
    assert kept.crop is None and kept.sub.flags.owndata
    assert all(v.flags.owndata for v in kept._cache.values())


def test_run_pass_runs_small_pictures_here_and_others_on_a_thread() -> None:
    import threading

    here = threading.get_ident()
    for pixels, inline in [(640 * 360, True), (INLINE_MAX_PIXELS, True), (INLINE_MAX_PIXELS + 1, False),
                           (1920 * 1080, False), (None, False), (0, False)]:
        fut = run_pass(pixels, threading.get_ident)
        if inline:
            assert fut.done()
        assert (fut.result(timeout=10) == here) is inline, pixels


def test_run_pass_delivers_an_inline_pass_exception_in_the_future() -> None:
    def boom() -> None:
        raise RuntimeError("decoder bug")

    fut = run_pass(640 * 360, boom)
    assert fut.done()
    with pytest.raises(RuntimeError, match="decoder bug"):
        fut.result()
