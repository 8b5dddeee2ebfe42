#!/usr/bin/env python3
"""Calibrate camcheck's image analyser on real decoded frames and regenerate tests/data/image-calibration.json.

Two sources of frames, each decoded with PyAV and picked the way the probe picks them (the first
keyframe, FRAMES_AFTER_KEYFRAME frames right after it, and the next keyframe about 1 s later):

- ``sim``: camcheck's own simulator clips (camcheck.simulator.media), every look, several scenes
  and resolutions, H.264 and H.265; decoded from the clip's access units with a CodecContext.
- ``gst``: streams served by Debian's GStreamer RTSP server (tests/peers/gst.py), built from
  scikit-image's sample photographs with GStreamer's own elements: imagefreeze (a still scene),
  videotestsrc snow composited at low alpha (live sensor noise), clockoverlay (a ticking OSD),
  videobalance/gamma (night, dark, overexposed, lighting changes), gaussianblur (defocus), and
  imagefreeze of a noisy picture + clockoverlay (a frozen camera whose OSD keeps ticking).
  Decoded by PyAV's RTSP client over TCP.

Usage:
    .venv/bin/python bench/calibrate_image.py            # measure, print the table, write the JSON
    .venv/bin/python bench/calibrate_image.py --no-gst   # simulator only (no GStreamer)
    .venv/bin/python bench/calibrate_image.py --check    # print only, do not write

Bounded: each GStreamer stream is read for GST_SECONDS (at most that + 15 s) and its decoded frames
are cached (--cache, keyed by launch line, photo bytes and GST_SECONDS); simulator clips are cached
by camcheck.simulator.media. Cold: ~3 min of GStreamer streams + a few minutes of simulator
encodes on 2 cores; warm: ~20 s. Also prints analyse()'s CPU cost per check by resolution.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402

from camcheck.probe.image import (  # noqa: E402
    DEFAULT_THRESHOLDS,
    FRAMES_AFTER_KEYFRAME,
    MOTION_PROOF_FRAMES,
    MOTION_PROVEN_LEVEL,
    MOTION_PROVEN_MIN,
    DecodedFrame,
    ImageAnalysis,
    MotionProof,
    analyse,
    empty_frames,
    load_reference,
    picture_signature_change,
)

# What each look must produce: (findings that must all be there, extra findings tolerated).
# "quiet" = a healthy still scene whose sensor noise the encoder erases entirely: undecidable in one
# check (it looks exactly like a frozen picture), recorded for the distributions only.
EXPECT: dict[str, tuple[frozenset[str], frozenset[str]] | None] = {
    "normal": (frozenset(), frozenset()),
    "static": (frozenset(), frozenset()),
    "night": (frozenset(), frozenset()),
    "lighting": (frozenset(), frozenset()),
    "frozen": (frozenset({"frozen"}), frozenset()),
    "black": (frozenset({"black"}), frozenset({"scene_changed"})),
    "covered": (frozenset({"covered"}), frozenset({"scene_changed"})),
    "dark": (frozenset({"dark"}), frozenset()),
    "blurred": (frozenset({"blurred"}), frozenset()),
    "overexposed": (frozenset({"overexposed"}), frozenset({"scene_changed"})),
    "moved": (frozenset({"scene_changed"}), frozenset()),
    "quiet": None,
}
# Known single-check misses (see ImageThresholds.frozen_max_change): expected, not required.
# Frozen streams whose encoder's rate control re-encodes some IDRs of the frozen picture at another
# QP while it keeps refining the picture in its inter frames (no QP floor, or a bitrate that never
# reaches it: GStreamer's x264, the simulator at 720p): those checks look live. The daemon confirms
# frozen over several checks. And one healthy dim scene at the edge of "quiet" (the encoder erases
# its sensor noise now and then): suspected frozen in 1 window of 28 sampled. (The simulator's
# 640x360 frozen clips, whose re-coded keyframes used to be misses too, are caught by their empty
# inter frames: required.)
LENIENT = {
    "sim h264 1280x720 garden frozen",
    "gst frozen motorcycle (clock)", "gst frozen rocket (timecode)", "gst frozen rocket 256k (clock)",
    "gst night rocket",
}

CALIBRATION_FILE = ROOT / "tests" / "data" / "image-calibration.json"
GST_SECONDS = 8.3  # read this much of each GStreamer stream: 7 windows of (keyframe, +1 s keyframe) after settling
W, H, FPS = 640, 360, 25
# A GStreamer pipeline's first second shows its start-up (compositor pads joining, encoder rate
# control settling): a camera that has run for hours never shows that, so windows start after it.
GST_SETTLE = 1.0
# Likewise a simulator clip's first keyframe is the encoder's cold start (rate control not settled:
# its IDR differs from the next ones as much as sensor noise would). The simulator loops the clip,
# so a probe meets it once a loop; calibration windows start at the second keyframe.
SIM_SETTLE = 1.0
# A probe reads about this long: its `empty_frames` counts the inter frames of that span.
PROBE_WINDOW = 2.0


# ----------------------------------------------------------------------------------------------
# Frames: decoding and picking the way the probe does


def luma_of(frame) -> np.ndarray:  # noqa: ANN001 - av.VideoFrame
    """The Y plane of a decoded PyAV frame, as is (no range conversion), HxW uint8."""
    plane = frame.planes[0]
    return np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)[:, : frame.width].copy()


def windows(frames: Sequence[DecodedFrame], after: int = FRAMES_AFTER_KEYFRAME, second_key: bool = True,
            max_gap: float = 2.05, min_start: float = 0.0) -> list[list[DecodedFrame]]:
    """What the probe would hand over, one list per keyframe that starts a window.

    A window = the keyframe, `after` frames right after it, and (if `second_key`) the last keyframe
    at most `max_gap` s after it (the probe reads ~2 s). Times are rebased to the window's keyframe.
    """
    return [w for _, w in windows_at(frames, after, second_key, max_gap, min_start)]


def windows_at(frames: Sequence[DecodedFrame], after: int = FRAMES_AFTER_KEYFRAME, second_key: bool = True,
               max_gap: float = 2.05, min_start: float = 0.0) -> list[tuple[int, list[DecodedFrame]]]:
    """`windows`, each with the index in `frames` of the keyframe that starts it."""
    out = []
    for i, f in enumerate(frames):
        if not f.keyframe or f.t < min_start:
            continue
        follow = [g for g in frames[i + 1 : i + 1 + after] if not g.keyframe]
        if len(follow) < after:
            continue
        picked = [f, *follow]
        if second_key:
            later = [g for g in frames[i + 1 :] if g.keyframe and 0.4 <= g.t - f.t <= max_gap]
            if not later:
                continue
            picked.append(later[-1] if max_gap < 1.5 else later[0])
        out.append((i, [DecodedFrame(g.image, g.t - f.t, g.keyframe) for g in picked]))
    return out


def window_empty(frames: Sequence[DecodedFrame], sizes: Sequence[int], start: int) -> float | None:
    """`empty_frames` of the probe window that starts at frames[start]: over the inter frames of the
    next PROBE_WINDOW s (`sizes`: each frame's coded bytes, aligned with `frames`)."""
    t0 = frames[start].t
    inter = [sizes[j] for j in range(start, len(frames))
             if frames[j].t - t0 < PROBE_WINDOW and not frames[j].keyframe and sizes[j] > 0]  # 0: unknown
    return empty_frames(inter, frames[start].image.size)


# ----------------------------------------------------------------------------------------------
# Simulator


@dataclass(frozen=True)
class SimCase:
    look: str
    scene: str
    width: int
    height: int
    codec: str = "h264"
    bitrate_kbps: int = 0  # 0: a camera-like default for the resolution

    @property
    def name(self) -> str:
        return f"sim {self.codec} {self.width}x{self.height} {self.scene} {self.look}"


def _kbps(width: int) -> int:
    return {320: 256, 640: 512, 1280: 1500, 1920: 3000}.get(width, 1000)


def sim_spec(case: SimCase):  # noqa: ANN201
    from camcheck.simulator.media import ClipSpec

    return ClipSpec(case.codec, case.width, case.height, FPS, FPS, case.bitrate_kbps or _kbps(case.width),
                    scene=case.scene, look=case.look, seconds=4.0)


def sim_frames(case: SimCase) -> list[DecodedFrame]:
    """Every frame of the simulator clip, decoded."""
    import av

    from camcheck.simulator.media import load_clip

    spec = sim_spec(case)
    clip = load_clip(spec)
    ctx = av.CodecContext.create("hevc" if case.codec == "h265" else "h264", "r")
    out = []
    for i, au in enumerate(clip.access_units):
        data = b"".join(b"\x00\x00\x00\x01" + n for n in au.nals)
        for fr in ctx.decode(av.Packet(data)):
            out.append(DecodedFrame(luma_of(fr), len(out) / spec.fps, bool(fr.key_frame)))
    for fr in ctx.decode(None):
        out.append(DecodedFrame(luma_of(fr), len(out) / spec.fps, bool(fr.key_frame)))
    # The clip's own keyframe flags are authoritative (decoders differ in how they flag IDR frames).
    keys = [au.keyframe for au in clip.access_units]
    return [DecodedFrame(f.image, f.t, keys[i]) for i, f in enumerate(out)]


def sim_sizes(case: SimCase) -> list[int]:
    """Each frame's coded bytes (its NAL units), aligned with sim_frames(case)."""
    from camcheck.simulator.media import load_clip

    return [sum(len(n) for n in au.nals) for au in load_clip(sim_spec(case)).access_units]


def sim_proof_windows(case: SimCase) -> list[list[DecodedFrame]]:
    """Each keyframe after settling and the MOTION_PROOF_FRAMES frames after it, decoded the way the
    probe decodes them for its motion proof (camcheck.probe.decode: no deblocking after the keyframe)."""
    from camcheck.probe.decode import decode_batches
    from camcheck.simulator.media import load_clip

    spec = sim_spec(case)
    aus = load_clip(spec).access_units
    out = []
    for i, au in enumerate(aus):
        if not au.keyframe or i / spec.fps < SIM_SETTLE or i + MOTION_PROOF_FRAMES >= len(aus):
            continue
        batch = [(b"".join(b"\x00\x00\x00\x01" + n for n in a.nals), j, a.keyframe)
                 for j, a in enumerate(aus[i : i + 1 + MOTION_PROOF_FRAMES])]
        out.append([DecodedFrame(p.luma, p.timestamp / spec.fps, p.keyframe)
                    for p in decode_batches(case.codec, [batch]).pictures])
    return out


def sim_reference(case: SimCase) -> np.ndarray:
    """The registered view: the `normal` look's first decoded keyframe, through a JPEG round trip."""
    base = SimCase("normal", case.scene, case.width, case.height, case.codec)
    img = sim_frames(base)[0].image
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return load_reference(jpg.tobytes())


SIM_LOOKS = ("normal", "static", "night", "frozen", "black", "covered", "blurred", "overexposed", "moved")


def sim_cases(quick: bool = False) -> list[SimCase]:
    cases = [SimCase(look, "street", 320, 180) for look in SIM_LOOKS]
    if quick:
        return cases
    cases += [SimCase(look, "lobby", 640, 360) for look in SIM_LOOKS]
    cases += [SimCase(look, "parking", 640, 360, "h265") for look in SIM_LOOKS]
    cases += [SimCase(look, "garden", 1280, 720) for look in ("normal", "static", "night", "frozen", "blurred")]
    return cases


# ----------------------------------------------------------------------------------------------
# GStreamer


@dataclass(frozen=True)
class GstCase:
    name: str
    look: str  # which expectation it calibrates (a look name, or "lighting" = same scene, other light)
    source: str  # GStreamer launch fragment producing raw video (before the encoder)
    reference: str | None = None  # photo whose static view is the registered reference
    bitrate_kbps: int = 512


def photo_png(name: str, directory: Path, shift: float = 0.0, noise: float = 0.0) -> str:
    """A scikit-image sample photograph cropped to 16:9 and resized to W x H, written as PNG."""
    import skimage.data

    path = directory / f"{name}-{shift:.2f}-{noise:.1f}.png"
    if path.exists():
        return str(path)
    rgb = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    if rgb.ndim == 2:
        rgb = np.stack([rgb] * 3, -1)
    img = np.ascontiguousarray(rgb[..., 2::-1])
    ph, pw = img.shape[:2]
    cw = min(round(0.8 * pw), round(ph * W / H))
    ch = round(cw * H / W)
    x0 = round((pw - cw) / 2 + shift * pw)
    x0 = min(max(0, x0), pw - cw)
    img = cv2.resize(img[(ph - ch) // 2 : (ph - ch) // 2 + ch, x0 : x0 + cw], (W, H), interpolation=cv2.INTER_AREA if cw > W else cv2.INTER_CUBIC)
    if noise:
        rng = np.random.default_rng(7)
        img = np.clip(img + rng.normal(0, noise, img.shape[:2])[..., None], 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), img)
    return str(path)


CLOCK = 'clockoverlay time-format="%Y-%m-%d %H:%M:%S"'


def _still(png: str, pre: str = "") -> str:
    chain = f"filesrc location={png} ! pngdec ! videoconvert ! imagefreeze is-live=true ! video/x-raw,framerate={FPS}/1"
    return f"{chain} ! {pre}" if pre else chain


def _noisy(base: str, alpha: float, post: str = CLOCK) -> str:
    """`base` with live sensor noise: videotestsrc snow composited at low alpha, then `post` (OSD)."""
    snow = f"videotestsrc is-live=true pattern=snow ! video/x-raw,width={W},height={H},framerate={FPS}/1"
    tail = f" ! {post}" if post else ""
    return f"{base} ! mix.sink_0  {snow} ! mix.sink_1  compositor name=mix sink_1::alpha={alpha}{tail}"


def gst_cases(directory: Path, quick: bool = False) -> list[GstCase]:
    moto = photo_png("motorcycle", directory)
    rocket = photo_png("rocket", directory)
    moto_noisy = photo_png("motorcycle", directory, noise=3.0)
    rocket_noisy = photo_png("rocket", directory, noise=3.0)
    moto_moved = photo_png("motorcycle", directory, shift=0.2)
    ball = (f"videotestsrc is-live=true pattern=ball background-color=0x00000000 "
            f"! video/x-raw,format=BGRA,width={W},height={H},framerate={FPS}/1")
    night = "videobalance brightness=-0.02 contrast=0.4 saturation=0.3"
    cases = [
        GstCase("gst static motorcycle", "static", _noisy(_still(moto), 0.03), reference=moto),
        GstCase("gst night motorcycle", "night", _noisy(_still(moto, night), 0.07), reference=moto),
        GstCase("gst frozen motorcycle (clock)", "frozen", f"{_still(moto_noisy)} ! {CLOCK}"),
        GstCase("gst frozen rocket (timecode)", "frozen", f"{_still(rocket_noisy)} ! timeoverlay"),
        GstCase("gst black", "black", _noisy(f"videotestsrc is-live=true pattern=black ! video/x-raw,width={W},height={H},framerate={FPS}/1", 0.02)),
        GstCase("gst covered", "covered", _noisy(
            f"videotestsrc is-live=true pattern=solid-color foreground-color=0xff3c3026 ! video/x-raw,width={W},height={H},framerate={FPS}/1", 0.05,
            f"gaussianblur sigma=1.5 ! {CLOCK}")),
        GstCase("gst blurred motorcycle", "blurred", _noisy(_still(moto, "gaussianblur sigma=3"), 0.02)),
        GstCase("gst overexposed motorcycle", "overexposed", _noisy(_still(moto, "videobalance brightness=0.45 contrast=1.6"), 0.02)),
        GstCase("gst lighting brighter motorcycle", "lighting", _noisy(_still(moto, "videobalance brightness=0.12 contrast=1.3"), 0.03), reference=moto),
        GstCase("gst lighting gamma motorcycle", "lighting", _noisy(_still(moto, "gamma gamma=0.6"), 0.03), reference=moto),
        GstCase("gst moved motorcycle", "moved", _noisy(_still(moto_moved), 0.03), reference=moto),
    ]
    if quick:
        return cases
    cases += [
        GstCase("gst normal motorcycle (ball)", "normal", _noisy(
            f"{_still(moto)} ! mixb.sink_0  {ball} ! mixb.sink_1  compositor name=mixb", 0.03), reference=moto),
        GstCase("gst static rocket (quiet: noise erased)", "quiet", _noisy(_still(rocket), 0.03), reference=rocket),
        GstCase("gst static motorcycle clean sensor", "static", _noisy(_still(moto), 0.015), reference=moto),
        GstCase("gst static rocket 256k (quiet: noise erased)", "quiet", _noisy(_still(rocket), 0.02), reference=rocket, bitrate_kbps=256),
        GstCase("gst night rocket", "night", _noisy(_still(rocket, night), 0.07), reference=rocket),
        GstCase("gst dark motorcycle", "dark", _noisy(_still(moto, "videobalance brightness=0.0 contrast=0.12"), 0.03)),
        GstCase("gst frozen rocket 256k (clock)", "frozen", f"{_still(rocket_noisy)} ! {CLOCK}", bitrate_kbps=256),
        GstCase("gst blurred rocket", "blurred", _noisy(_still(rocket, "gaussianblur sigma=3"), 0.02)),
        GstCase("gst moved rocket->motorcycle", "moved", _noisy(_still(moto), 0.03), reference=rocket),
    ]
    return cases


def gst_launch(case: GstCase) -> str:
    # x264enc's zerolatency tune slices frames over threads; PyAV's RTSP demuxer hands each slice
    # over as a frame, which garbles decoding, so one slice per frame here (the probe assembles AUs).
    return (
        f"( {case.source} ! videoconvert ! videoscale ! video/x-raw,format=I420,width={W},height={H},framerate={FPS}/1 "
        f"! x264enc tune=zerolatency sliced-threads=false speed-preset=ultrafast key-int-max={FPS} bframes=0 "
        f"bitrate={case.bitrate_kbps} ! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


def rtsp_frames(url: str, seconds: float = GST_SECONDS, timeout: float = 15.0) -> list[DecodedFrame]:
    """Decode `seconds` of an RTSP stream with PyAV over TCP, from its first keyframe."""
    return rtsp_frames_sized(url, seconds, timeout)[0]


def rtsp_frames_sized(url: str, seconds: float = GST_SECONDS,
                      timeout: float = 15.0) -> tuple[list[DecodedFrame], list[int]]:
    """`rtsp_frames`, with each frame's coded bytes (its demuxed packet's size)."""
    import av

    out: list[tuple[DecodedFrame, int]] = []
    deadline = time.monotonic() + timeout + seconds
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as c:
        stream = c.streams.video[0]
        tb = float(stream.time_base)
        t0 = None
        for fr, size in _decoded_with_sizes(c, stream):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: no {seconds} s of video in time")
            if t0 is None and not fr.key_frame:
                continue
            pts = fr.pts if fr.pts is not None else 0
            if t0 is None:
                t0 = pts
            t = (pts - t0) * tb
            if t > seconds:
                break
            out.append((DecodedFrame(luma_of(fr), t, bool(fr.key_frame)), size))
    # Two keyframes at the same instant would be a demuxing artefact: keep the later decode.
    dedup: list[tuple[DecodedFrame, int]] = []
    for f, n in out:
        if dedup and abs(dedup[-1][0].t - f.t) < 1e-6:
            dedup[-1] = (f, n)
        else:
            dedup.append((f, n))
    return [f for f, _ in dedup], [n for _, n in dedup]


def _decoded_with_sizes(container, stream) -> Iterator[tuple]:  # noqa: ANN001 - PyAV objects
    """(decoded frame, size of the packet it came from; 0 if unknown), in decoding order."""
    size_at: dict[int, int] = {}
    for packet in container.demux(stream):
        if packet.pts is not None and packet.size:
            size_at[packet.pts] = packet.size
        for fr in packet.decode():
            yield fr, size_at.get(fr.pts, 0)


def gst_frames(cases: Sequence[GstCase],
               cache: Path | None = None) -> Iterator[tuple[GstCase, list[DecodedFrame], list[int]]]:
    """Serve every case from one GStreamer RTSP server and decode each (cached as .npz in `cache`),
    with each frame's coded bytes."""
    from tests.peers.gst import gst_rtsp_server

    todo = []
    for case in cases:
        f = _cache_file(cache, case)
        saved = load_frames(f) if f is not None and f.exists() else None
        if saved is not None:
            yield case, *saved
        else:
            todo.append(case)
    if not todo:
        return
    mounts = [{"path": f"/c{i}", "launch": gst_launch(c)} for i, c in enumerate(todo)]
    with gst_rtsp_server(mounts) as server:
        for i, case in enumerate(todo):
            frames, sizes = rtsp_frames_sized(server.url(f"/c{i}"))
            f = _cache_file(cache, case)
            if f is not None:
                tmp = f.with_suffix(".tmp.npz")
                np.savez_compressed(tmp, images=np.stack([x.image for x in frames]), t=np.array([x.t for x in frames]),
                                    key=np.array([x.keyframe for x in frames]), size=np.array(sizes))
                tmp.replace(f)  # atomic: an interrupted run leaves no half-written cache file
            yield case, frames, sizes


def load_frames(path: Path) -> tuple[list[DecodedFrame], list[int]] | None:
    """Frames and their coded bytes saved by gst_frames (each npz member is decompressed once);
    None for a file saved without the sizes (an older cache: read the stream again)."""
    with np.load(path) as z:
        if "size" not in z.files:
            return None
        images, ts, keys, sizes = z["images"], z["t"], z["key"], z["size"]
    return [DecodedFrame(images[i], float(ts[i]), bool(keys[i])) for i in range(len(ts))], [int(n) for n in sizes]


def _cache_file(cache: Path | None, case: GstCase) -> Path | None:
    if cache is None:
        return None
    import hashlib

    h = hashlib.sha256(f"{GST_SECONDS} {gst_launch(case)}".encode())
    for word in case.source.split():  # the pictures a case is built from are part of its identity
        if word.startswith("location="):
            h.update(Path(word[len("location="):]).read_bytes())
    key = h.hexdigest()[:16]
    return cache / f"gst-{key}.npz"


def gst_reference(case: GstCase) -> np.ndarray | None:
    """The registered view of a GStreamer case: its reference photo as a JPEG, read back as luma."""
    if case.reference is None:
        return None
    img = cv2.imread(case.reference)
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return load_reference(jpg.tobytes())


# ----------------------------------------------------------------------------------------------
# Measuring and recording


def proof_summary(windows_: Sequence[Sequence[DecodedFrame]]) -> dict:
    """The motion proof (image.MotionProof) over each window (K1 and the frames after it): the
    largest fraction of blocks changed by more than MOTION_PROVEN_LEVEL against K1 in any frame, in
    how many windows it proved motion, and after how many frames (each one decoded costs CPU)."""
    worst = 0.0
    needed: list[int] = []
    for w in windows_:
        proof = MotionProof(w[0])
        for n, f in enumerate(w[1:], 1):
            fraction = proof.fraction(f)
            worst = max(worst, fraction)
            if fraction >= MOTION_PROVEN_MIN:
                needed.append(n)
                break
    return {"windows": len(windows_), "max_fraction": round(worst, 4), "proven": len(needed),
            "frames_needed": sorted(needed)}


def measure(frames: Sequence[DecodedFrame], reference: np.ndarray | None, single: bool = False,
            min_start: float = 0.0, sizes: Sequence[int] | None = None) -> list[ImageAnalysis]:
    """analyse() of every probe window; with `sizes` (each frame's coded bytes) its empty_frames too."""
    return [analyse(w, reference, empty=None if sizes is None else window_empty(frames, sizes, i))
            for i, w in windows_at(frames, second_key=not single, min_start=min_start)]


def expectation(look: str, single: bool) -> tuple[frozenset[str], frozenset[str]] | None:
    """What a check of `look` must find; with a single keyframe frozen is not judged."""
    exp = EXPECT[look]
    if exp is None or not single:
        return exp
    return exp[0] - {"frozen"}, exp[1] - {"frozen"}


def agrees(findings: Sequence[str], exp: tuple[frozenset[str], frozenset[str]]) -> bool:
    found = set(findings)
    return exp[0] <= found <= exp[0] | exp[1]


def summarise(results: list[ImageAnalysis]) -> dict:
    out: dict = {"checks": len(results)}
    for k in sorted({k for r in results for k in r.measures}):
        vals = [r.measures[k] for r in results if r.measures.get(k) is not None]
        if vals:
            out[k] = {"min": round(min(vals), 4), "median": round(statistics.median(vals), 4), "max": round(max(vals), 4)}
    # The picture signature across checks (image.picture_signature_change): every pair of windows'
    # K1 signatures. For a still or frozen look this is the drift that re-coding and sensor noise
    # leave; camcheck.verdict.unchanged's threshold must sit above it.
    sigs = [r.signature for r in results if r.signature is not None]
    pairs = [picture_signature_change(a, b) for i, a in enumerate(sigs) for b in sigs[i + 1:]]
    pairs = [v for v in pairs if v is not None]
    if pairs:
        out["signature_change"] = {"min": round(min(pairs), 4), "median": round(statistics.median(pairs), 4),
                                   "max": round(max(pairs), 4), "pairs": len(pairs)}
    findings: dict[str, int] = {}
    for r in results:
        for f in r.findings:
            findings[f] = findings.get(f, 0) + 1
    out["findings"] = findings
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-gst", action="store_true", help="skip the GStreamer RTSP server streams")
    ap.add_argument("--no-sim", action="store_true", help="skip the simulator clips")
    ap.add_argument("--quick", action="store_true", help="fewer cases")
    ap.add_argument("--check", action="store_true", help="print only; do not write the calibration file")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "camcheck-image-calibration",
                    help="where decoded GStreamer frames and photos are cached")
    ap.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rows: list[tuple[str, str, str, dict]] = []

    def record(source: str, name: str, look: str, results: list[ImageAnalysis], proof: dict | None = None) -> None:
        s = summarise(results)
        if proof is not None:
            s["motion_proof"] = proof
        single = name.endswith("(one keyframe)")
        exp = expectation(look, single)
        s["expect"] = None if exp is None else sorted(exp[0])
        s["tolerate"] = None if exp is None else sorted(exp[1])
        s["strict"] = exp is not None and name not in LENIENT
        s["agrees"] = None if exp is None else sum(agrees(r.findings, exp) for r in results)
        rows.append((source, name, look, s))
        _print_row(name, look, s)

    _print_header()
    if not args.no_sim:
        for case in sim_cases(args.quick):
            frames, sizes = sim_frames(case), sim_sizes(case)
            ref = sim_reference(case)
            record("sim", case.name, case.look, measure(frames, ref, min_start=SIM_SETTLE, sizes=sizes),
                   proof_summary(sim_proof_windows(case)))
            if case.look in ("static", "night", "frozen"):
                record("sim", case.name + " (one keyframe)", case.look,
                       measure(frames, ref, single=True, min_start=SIM_SETTLE, sizes=sizes))
    if not args.no_gst:
        for case, frames, sizes in gst_frames(gst_cases(args.cache, args.quick), args.cache):
            ref = gst_reference(case)
            # (deblocked P-frames here: PyAV's demuxer decodes every frame; at the proof's 160 px the
            # difference is below its level)
            proof = proof_summary(windows(frames, after=MOTION_PROOF_FRAMES, second_key=False, min_start=GST_SETTLE))
            record("gst", case.name, case.look, measure(frames, ref, min_start=GST_SETTLE, sizes=sizes), proof)
            if case.look in ("static", "night", "frozen"):
                record("gst", case.name + " (one keyframe)", case.look,
                       measure(frames, ref, single=True, min_start=GST_SETTLE, sizes=sizes))
    print(f"\n{len(rows)} cases in {time.monotonic() - started:.1f} s")
    if not args.no_sim:
        timing()
    if not args.check:
        doc = {
            "about": "Image measures of camcheck.probe.image on real decoded frames, per source and look "
                     "(min/median/max over checks). Regenerate with bench/calibrate_image.py.",
            "frames_after_keyframe": FRAMES_AFTER_KEYFRAME,
            "thresholds": dataclasses.asdict(DEFAULT_THRESHOLDS),
            "motion_proof": {"level": MOTION_PROVEN_LEVEL, "min_fraction": MOTION_PROVEN_MIN,
                             "frames": MOTION_PROOF_FRAMES},
            "settle_seconds": {"sim": SIM_SETTLE, "gst": GST_SETTLE},
            "cases": [{"source": s, "name": n, "look": lk, **d} for s, n, lk, d in rows],
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")
    return 0


def timing(repeat: int = 20) -> dict[str, float]:
    """CPU milliseconds per analyse() (1 reference, K1 + FRAMES_AFTER_KEYFRAME + K2) by resolution."""
    w = windows(sim_frames(SimCase("static", "street", 320, 180)), min_start=SIM_SETTLE)[0]
    ref = sim_reference(SimCase("static", "street", 320, 180))
    out = {}
    for width, height in ((640, 360), (1280, 720), (1920, 1080), (3840, 2160)):
        big = [DecodedFrame(cv2.resize(f.image, (width, height), interpolation=cv2.INTER_LINEAR), f.t, f.keyframe) for f in w]
        analyse(big, ref)
        t0 = time.process_time()
        for _ in range(repeat):
            analyse(big, ref)
        out[f"{width}x{height}"] = ms = (time.process_time() - t0) / repeat * 1000
        print(f"analyse() {width}x{height}: {ms:.1f} ms CPU per check ({len(big)} frames + reference)")
    return out


SHOW = ("brightness", "contrast", "peak", "highlights", "structure", "sharpness", "change", "noise", "motion",
        "similarity", "empty_frames", "signature_change")


def _print_header() -> None:
    print(f"{'case':52s} {'n':>2s} " + " ".join(f"{k[:10]:>18s}" for k in SHOW) + "  findings")


def _print_row(name: str, look: str, s: dict) -> None:
    cells = []
    for k in SHOW:
        v = s.get(k)
        cells.append(f"{'-':>18s}" if v is None else f"{v['min']:.3g}/{v['median']:.3g}/{v['max']:.3g}"[:18].rjust(18))
    fnd = ",".join(f"{k}:{v}" for k, v in s["findings"].items())
    if "motion_proof" in s:
        mp = s["motion_proof"]
        fnd = f"proof {mp['max_fraction']:.3f} {mp['proven']}/{mp['windows']} {fnd}"
    if s.get("agrees") is not None:
        fnd += f"  [{s['agrees']}/{s['checks']} as expected{'' if s['strict'] else ', lenient'}]"
    print(f"{name[:52]:52s} {s['checks']:2d} " + " ".join(cells) + f"  {fnd}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
