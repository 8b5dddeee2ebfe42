"""The simulated cameras' pictures and their encoded H.264/H.265 streams.

A clip is one seamless loop of camera video, encoded once the way IP cameras encode: fixed GOP
(IDR every `gop` frames, no scene-cut keyframes), no B-frames, near-constant bitrate (VBV), no
lookahead, parameter sets repeated before every keyframe. The RTSP server of the simulator
packetises `Clip.access_units` and loops them.

Pictures are photographic scenes (see `scenes`) seen through a simulated sensor: per-frame Gaussian
noise (stronger in dark areas), then the OSD (see `osd`). The `look` of a clip says what kind of
camera (or fault) it shows; each is meant to be recognisable by an image analyser on DECODED frames:

- ``normal``: slow drift of the view, an object crossing, live sensor noise, ticking OSD clock.
- ``static``: healthy camera on a still scene: no motion at all, but sensor noise changes every frame.
- ``night``: dark (mean luma ~25-45), low contrast, bluish, grainy (strong noise); still alive.
- ``frozen``: the sensor/ISP pipeline hung: every frame shows the very same pixels (noise included)
  while the OSD clock keeps ticking, as real cameras do.
- ``black``: near-black picture (luma ~0-16; dead sensor, lens cap, no IR at night) with OSD.
- ``covered``: lens covered by a hand or tape: near-uniform, dim (mean luma ~20-60), slightly
  coloured, very low spatial contrast, noisy, OSD drawn.
- ``blurred``: defocused optics (strong Gaussian blur) with motion and noise; the OSD stays sharp
  because it is drawn after the optics.
- ``overexposed``: washed out, mostly clipped to white (gain x3 plus offset), OSD drawn.
- ``moved``: the camera points at a different scene than its registered view; otherwise normal.

Public: `Look`, `LOOKS`, `SCENES`, `ClipSpec`, `AccessUnit`, `Clip`, `load_clip`, `render_frame`,
`split_annexb`, `nal_type`.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import functools
import hashlib
import json
import logging
import math
import os
import struct
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, get_args

import cv2
import numpy as np

from camcheck.simulator.osd import draw_osd, osd_time
from camcheck.simulator.scenes import SCENES, scene_canvas, view

log = logging.getLogger(__name__)

Look = Literal["normal", "static", "night", "frozen", "black", "covered", "blurred", "overexposed", "moved"]
LOOKS: tuple[str, ...] = get_args(Look)
Codec = Literal["h264", "h265"]

# Bump when pictures, encoder settings or the cache file layout change: old cache files are then ignored.
MEDIA_FORMAT_VERSION = 2
DEFAULT_LOOP_SECONDS = 8.0
# GOPs encoded before the loop and dropped (the loop's own last frames, so the loop stays seamless).
# An encoder codes its first keyframe before its rate control has settled, and a camera's encoder has
# been running for hours: without these, every loop's first keyframe came out at another quality than
# the others, and a frozen picture changed from the keyframe before it as much as a live one
# (x264, 640x360 frozen: change 4.7 across the loop's start, 0.3-1.6 between its other keyframes).
WARMUP_GOPS = 2
_MAGIC = b"CAMCLIP\x00"

# NAL unit types (H.264: ITU-T H.264 table 7-1; H.265: ITU-T H.265 table 7-1).
H264_IDR, H264_SEI, H264_SPS, H264_PPS, H264_AUD, H264_FILLER = 5, 6, 7, 8, 9, 12
H265_IRAP = range(16, 22)
H265_VPS, H265_SPS, H265_PPS, H265_AUD, H265_FILLER, H265_SEI_PREFIX, H265_SEI_SUFFIX = 32, 33, 34, 35, 38, 39, 40
# Dropped from the stream: delimiters, filler and SEI (x264/x265 put their version banner there).
_DROP = {"h264": {H264_SEI, H264_AUD, H264_FILLER}, "h265": {H265_AUD, H265_FILLER, H265_SEI_PREFIX, H265_SEI_SUFFIX}}


@dataclass(frozen=True)
class ClipSpec:
    """What to encode. Equal specs give identical pictures (deterministic noise); the encoded bytes
    may differ between two encodes (encoder threads), which is why load_clip caches them."""

    codec: Codec
    width: int
    height: int
    fps: float  # frames per second actually encoded (RTP timestamps follow this)
    gop: int  # frames per GOP (keyframe interval), fixed
    bitrate_kbps: int
    scene: str = "street"
    look: Look = "normal"
    seconds: float | None = None  # loop length, rounded up to whole GOPs; None = ~8 s, >= 2 GOPs
    camera_name: str = "CAM-01"  # burned into the OSD
    seed: int = 0

    def __post_init__(self) -> None:
        if self.codec not in ("h264", "h265"):
            raise ValueError(f"codec must be 'h264' or 'h265', not {self.codec!r}")
        for name in ("width", "height"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 16 <= v <= 4096 or v % 2:
                raise ValueError(f"{name} must be an even whole number of pixels in 16..4096, not {v!r}")
        if not isinstance(self.fps, (int, float)) or isinstance(self.fps, bool) or not 0.5 <= self.fps <= 120:
            raise ValueError(f"fps must be a number in 0.5..120, not {self.fps!r}")
        if not isinstance(self.gop, int) or isinstance(self.gop, bool) or not 1 <= self.gop <= 1000:
            raise ValueError(f"gop must be a whole number of frames in 1..1000, not {self.gop!r}")
        kbps = self.bitrate_kbps
        if not isinstance(kbps, int) or isinstance(kbps, bool) or not 16 <= kbps <= 100_000:
            raise ValueError(f"bitrate_kbps must be a whole number in 16..100000, not {self.bitrate_kbps!r}")
        if self.scene not in SCENES:
            raise ValueError(f"unknown scene {self.scene!r}; available: {', '.join(SCENES)}")
        if self.look not in LOOKS:
            raise ValueError(f"unknown look {self.look!r}; available: {', '.join(LOOKS)}")
        if self.seconds is not None and (
            not isinstance(self.seconds, (int, float)) or isinstance(self.seconds, bool) or not 0 < self.seconds <= 600
        ):
            raise ValueError(f"seconds must be None or a number in (0, 600], not {self.seconds!r}")
        name = self.camera_name
        if not isinstance(name, str) or not name.isascii() or not name.isprintable() or not 0 < len(name) <= 40:
            raise ValueError(f"camera_name must be 1..40 printable ASCII characters (the OSD font has no others), not {name!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, not {self.seed!r}")

    @property
    def frame_count(self) -> int:
        """Frames in one loop: whole GOPs; by default the fewest covering ~8 s, at least 2 GOPs."""
        if self.seconds is None:
            gops = max(2, math.ceil(DEFAULT_LOOP_SECONDS * self.fps / self.gop - 1e-9))
        else:
            gops = max(1, math.ceil(self.seconds * self.fps / self.gop - 1e-9))
        return gops * self.gop

    @property
    def view_scene(self) -> str:
        """The scene actually in view: for `moved`, the next scene after the registered one."""
        if self.look == "moved":
            return SCENES[(SCENES.index(self.scene) + 1) % len(SCENES)]
        return self.scene


@dataclass(frozen=True)
class AccessUnit:
    """One encoded frame."""

    nals: tuple[bytes, ...]  # NAL units WITHOUT start codes, in decoding order
    keyframe: bool  # IDR (H.264) / IRAP (H.265); keyframe AUs begin with SPS,PPS (VPS,SPS,PPS for H.265)


@dataclass(frozen=True)
class Clip:
    """One encoded seamless loop: starts with a keyframe, a whole number of GOPs long."""

    spec: ClipSpec
    access_units: tuple[AccessUnit, ...]
    vps: bytes | None
    sps: bytes
    pps: bytes

    def sdp_fmtp(self, payload_type: int) -> str:
        """The a=fmtp value for this clip (RFC 6184 for H.264, RFC 7798 for H.265)."""
        if not isinstance(payload_type, int) or not 0 <= payload_type <= 127:
            raise ValueError(f"RTP payload type must be 0..127, not {payload_type!r}")
        b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
        if self.spec.codec == "h264":
            return (
                f"{payload_type} packetization-mode=1;profile-level-id={self.sps[1:4].hex()};"
                f"sprop-parameter-sets={b64(self.sps)},{b64(self.pps)}"
            )
        assert self.vps is not None
        return f"{payload_type} sprop-vps={b64(self.vps)};sprop-sps={b64(self.sps)};sprop-pps={b64(self.pps)}"

    @property
    def rtpmap(self) -> str:
        return "H264/90000" if self.spec.codec == "h264" else "H265/90000"

    @property
    def duration(self) -> float:
        """Seconds of video in one loop."""
        return len(self.access_units) / self.spec.fps

    def annexb(self) -> bytes:
        """The whole loop as an Annex-B elementary stream (4-byte start codes), e.g. for ffprobe."""
        return b"".join(b"\x00\x00\x00\x01" + nal for au in self.access_units for nal in au.nals)


# ----------------------------------------------------------------------------------------------
# Pictures

# Sensor noise per look: sigma = base + dark * (1 - luma/255)^2 (shot/read noise shows most in shadows).
_NOISE = {
    "normal": (1.3, 4.0),
    "static": (1.3, 4.0),
    "moved": (1.3, 4.0),
    "frozen": (1.3, 4.0),
    "blurred": (1.3, 4.0),
    "night": (4.5, 4.0),
    "black": (0.8, 0.6),
    "covered": (2.2, 2.5),
    "overexposed": (1.5, 2.0),
}


def _luma(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(img, dtype=np.float32), cv2.COLOR_BGR2GRAY)


def _scene_mean_luma(spec: ClipSpec) -> float:
    return _canvas_mean_luma(spec.view_scene, spec.width, spec.height)


@functools.lru_cache(maxsize=16)
def _canvas_mean_luma(scene: str, width: int, height: int) -> float:
    return float(_luma(scene_canvas(scene, width, height)).mean())


def _defocus(img: np.ndarray, sigma: float) -> np.ndarray:
    """Strong Gaussian blur; computed on a smaller copy when the blur is wide (same look, far cheaper)."""
    h, w = img.shape[:2]
    f = max(1, int(sigma // 3))
    if f == 1:
        return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    small = cv2.resize(img, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / f, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@functools.lru_cache(maxsize=8)
def _covered_base(scene: str, width: int, height: int) -> np.ndarray:
    """A hand or tape over the lens: dim, skin-coloured, smoothly shaded, a ghost of the scene leaking."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xx - width * 0.45) / width) ** 2 + ((yy - height * 0.55) / height) ** 2
    shade = (1.15 - 0.6 * r2)[..., None]  # light leaking around the edges, smooth
    img = np.float32([30, 40, 64]) * shade
    img += 0.03 * _defocus(view(scene, width, height, 0.0, False), max(4.0, height / 20))
    img.setflags(write=False)
    return img


def _optics_and_exposure(spec: ClipSpec, img: np.ndarray) -> np.ndarray:
    """What lens and exposure make of the light of the scene (float32 BGR, not clipped)."""
    look = spec.look
    if look == "blurred":
        img = _defocus(img, max(3.0, spec.height / 60))
    elif look == "night":
        # One linear map: colours fade (35 % colour, 65 % grey), dark and flat (mean luma ~34), bluish.
        mean = max(_scene_mean_luma(spec), 1.0)
        k = 24.0 / mean * 0.6
        w = np.array([0.114, 0.587, 0.299])  # BT.601 luma weights, BGR
        tint = np.array([1.18, 1.0, 0.85])
        mix = 0.35 * np.eye(3) + 0.65 * np.outer(np.ones(3), w)
        m = np.hstack([tint[:, None] * k * mix, (tint * (34.0 - mean * k))[:, None]])
        img = cv2.transform(np.ascontiguousarray(img, dtype=np.float32), m.astype(np.float32))
    elif look == "black":
        img = img * np.float32(0.015) + 1.0
    elif look == "covered":
        img = _covered_base(spec.view_scene, spec.width, spec.height).copy()
    elif look == "overexposed":
        img = img * 3.0 + 70.0
    return img


_BANK_PAD = 64  # noise-bank margin: 64 x 64 distinct offsets


@functools.lru_cache(maxsize=8)
def _noise_bank(height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """White noise planes a little larger than the picture, plus a per-frame order of window offsets.

    Drawing fresh Gaussian noise for every 1080p frame cost more than the encoding; a window of
    white noise at a different offset is just as independent from frame to frame, at no cost.
    """
    rng = np.random.default_rng((seed, height, width, 0xCA3C))
    luma = rng.standard_normal((height + _BANK_PAD, width + _BANK_PAD), dtype=np.float32)
    chroma = rng.standard_normal((height // 2 + _BANK_PAD // 2, width // 2 + _BANK_PAD // 2, 3), dtype=np.float32)
    order = rng.permutation(_BANK_PAD * _BANK_PAD)
    for arr in (luma, chroma, order):
        arr.setflags(write=False)
    return luma, chroma, order


def _sensor_noise(spec: ClipSpec, img: np.ndarray, index: int) -> np.ndarray:
    """Add this frame's noise realisation (deterministic in seed and frame index), in place."""
    h, w = img.shape[:2]
    base, dark = _NOISE[spec.look]
    bank, chroma_bank, order = _noise_bank(h, w, spec.seed)
    k = int(order[index % len(order)])
    dy, dx = divmod(k, _BANK_PAD)
    luma = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    np.clip(luma, 0, 255, out=luma)
    sigma = 1.0 - luma / 255.0
    sigma *= sigma
    sigma *= dark
    sigma += base
    noise = cv2.multiply(bank[dy : dy + h, dx : dx + w], sigma)
    # Chroma noise is blotchy in real cameras (demosaicing, chroma denoise): coarse grain, weaker.
    small_sigma = cv2.resize(sigma, (w // 2, h // 2), interpolation=cv2.INTER_AREA) * 0.35
    chroma = chroma_bank[dy // 2 : dy // 2 + h // 2, dx // 2 : dx // 2 + w // 2] * small_sigma[..., None]
    chroma = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    cv2.add(chroma, cv2.merge([noise, noise, noise]), dst=chroma)
    cv2.add(img, chroma, dst=img)
    return img


def _picture(spec: ClipSpec, index: int) -> np.ndarray:
    """Frame `index` (within the loop) as the sensor and ISP deliver it, before the OSD: uint8 BGR."""
    n = spec.frame_count
    moving = spec.look != "static"
    img = view(spec.view_scene, spec.width, spec.height, index / n, moving, n / spec.fps)
    img = _optics_and_exposure(spec, img)
    img = _sensor_noise(spec, np.ascontiguousarray(img, dtype=np.float32), index)
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


def render_frame(spec: ClipSpec, index: int) -> np.ndarray:
    """The uncompressed BGR picture (uint8, height x width x 3) of frame `index`, OSD included.

    Frame `index` of the endless loop, so `index` and `index % spec.frame_count` give the same picture.
    """
    if not isinstance(index, int) or index < 0:
        raise ValueError(f"frame index must be a whole number >= 0, not {index!r}")
    i = index % spec.frame_count
    # A frozen pipeline repeats one sensor picture; only the OSD, drawn later, keeps ticking.
    img = _picture(spec, 0 if spec.look == "frozen" else i)
    return draw_osd(img, osd_time(i, spec.fps), spec.camera_name)


# ----------------------------------------------------------------------------------------------
# Annex-B


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex-B byte stream, start codes (3 or 4 bytes) removed."""
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    nals = []
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        nal = data[s:end].rstrip(b"\x00")  # a trailing zero belongs to the next 4-byte start code
        if nal:
            nals.append(nal)
    return nals


def nal_type(codec: str, nal: bytes) -> int:
    """The NAL unit type of `nal` (first header byte(s))."""
    return nal[0] & 0x1F if codec == "h264" else (nal[0] >> 1) & 0x3F


def _is_key(codec: str, t: int) -> bool:
    return t == H264_IDR if codec == "h264" else t in H265_IRAP


def _param_types(codec: str) -> tuple[int, ...]:
    return (H264_SPS, H264_PPS) if codec == "h264" else (H265_VPS, H265_SPS, H265_PPS)


# ----------------------------------------------------------------------------------------------
# Encoding


def _encoder_options(spec: ClipSpec) -> tuple[str, dict[str, str]]:
    g, kbps = spec.gop, spec.bitrate_kbps
    # Cameras: fixed GOP, no B-frames, no lookahead, CBR-ish VBV of about one second. A floor on
    # QP (as camera encoders have) stops the encoder spending spare bits re-polishing unchanged
    # pictures: a frozen sensor then gives nearly empty P-frames and identical decoded frames.
    if spec.codec == "h264":
        params = (
            f"keyint={g}:min-keyint={g}:scenecut=0:bframes=0:repeat-headers=1:aud=0:annexb=1:"
            f"vbv-maxrate={kbps}:vbv-bufsize={kbps}:qpmin=20:nal-hrd=none:sliced-threads=0:slices=1"
        )
        return "libx264", {"preset": "superfast", "tune": "zerolatency", "profile": "main", "x264-params": params}
    params = (
        f"keyint={g}:min-keyint={g}:scenecut=0:bframes=0:open-gop=0:repeat-headers=1:aud=0:annexb=1:"
        f"vbv-maxrate={kbps}:vbv-bufsize={kbps}:qpmin=20:info=0:log-level=error"
    )
    return "libx265", {"preset": "ultrafast", "tune": "zerolatency", "x265-params": params}


def _yuv_frames(spec: ClipSpec, indices: list[int]) -> Iterator[Any]:
    """The loop's frames ``indices`` as yuv420p av.VideoFrames, rendered two ahead in a worker
    thread (OpenCV and NumPy release the GIL, so rendering overlaps the encoder's work)."""
    import av

    frozen = _picture(spec, 0) if spec.look == "frozen" else None

    def make(i: int) -> Any:
        img = frozen.copy() if frozen is not None else _picture(spec, i)
        draw_osd(img, osd_time(i, spec.fps), spec.camera_name)
        return av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")

    n = len(indices)
    with ThreadPoolExecutor(1, thread_name_prefix="camcheck-sim-render") as pool:
        ahead = deque(pool.submit(make, indices[k]) for k in range(min(2, n)))
        for k in range(n):
            future = ahead.popleft()
            if k + 2 < n:
                ahead.append(pool.submit(make, indices[k + 2]))
            yield future.result()


def _encode(spec: ClipSpec) -> Clip:
    import av  # heavy; only needed when a clip is not cached

    n = spec.frame_count
    encoder, options = _encoder_options(spec)
    ctx = av.CodecContext.create(encoder, "w")
    ctx.width, ctx.height = spec.width, spec.height
    ctx.pix_fmt = "yuv420p"
    rate = Fraction(spec.fps).limit_denominator(1001)
    ctx.framerate = rate
    ctx.time_base = 1 / rate
    ctx.bit_rate = spec.bitrate_kbps * 1000
    ctx.gop_size = spec.gop
    ctx.max_b_frames = 0
    ctx.options = options
    ctx.open()

    log.info(
        "encoding simulator clip %s %dx%d %s fps, gop %d, %d kbit/s, scene %s, look %s: %d frames (%.1f s of video)",
        spec.codec, spec.width, spec.height, spec.fps, spec.gop, spec.bitrate_kbps, spec.view_scene, spec.look,
        n, n / spec.fps,
    )
    warm = WARMUP_GOPS * spec.gop  # whole GOPs: the loop starts at an IDR
    order = [(n - warm + k) % n for k in range(warm)] + list(range(n))
    started = last_report = time.monotonic()
    packets: list[bytes] = []
    for i, frame in enumerate(_yuv_frames(spec, order)):
        frame.pts = i
        frame.time_base = ctx.time_base
        packets.extend(bytes(p) for p in ctx.encode(frame))
        now = time.monotonic()
        if now - last_report >= 3.0:
            last_report = now
            log.info("encoding %s %dx%d %s: %d/%d frames (%.1f frames/s)", spec.codec, spec.width, spec.height,
                     spec.look, i + 1, len(order), (i + 1) / (now - started))
    packets.extend(bytes(p) for p in ctx.encode(None))
    elapsed = time.monotonic() - started
    if len(packets) != len(order):
        raise RuntimeError(f"{encoder} returned {len(packets)} packets for {len(order)} frames (expected one per frame)")
    clip = _build_clip(spec, packets[warm:])
    kbps = sum(len(x) for au in clip.access_units for x in au.nals) * 8 / clip.duration / 1000
    log.info("encoded %s %dx%d %s: %d frames (+%d to settle the encoder) in %.1f s (%.1f frames/s), %.0f kbit/s",
             spec.codec, spec.width, spec.height, spec.look, n, warm, elapsed, len(order) / elapsed, kbps)
    return clip


def _build_clip(spec: ClipSpec, packets: list[bytes]) -> Clip:
    """Split encoder packets into access units, check the GOP structure, normalise parameter sets."""
    codec = spec.codec
    ptypes = _param_types(codec)
    params: dict[int, bytes] = {}
    aus = []
    for i, pkt in enumerate(packets):
        nals = [x for x in split_annexb(pkt) if nal_type(codec, x) not in _DROP[codec]]
        types = [nal_type(codec, x) for x in nals]
        key = any(_is_key(codec, t) for t in types)
        if key != (i % spec.gop == 0):
            raise RuntimeError(f"frame {i}: keyframe={key} but GOP is {spec.gop} (NAL types {types})")
        for x, t in zip(nals, types):
            if t in ptypes:
                if t in params and params[t] != x:
                    raise RuntimeError(f"frame {i}: parameter set type {t} changed mid-stream")
                params[t] = x
        if key:
            missing = [t for t in ptypes if t not in params]
            if missing:
                raise RuntimeError(f"frame {i}: keyframe without parameter sets {missing}")
            # Exactly one copy of each, in the canonical order, first in the AU.
            nals = [params[t] for t in ptypes] + [x for x, t in zip(nals, types) if t not in ptypes]
        else:
            nals = [x for x, t in zip(nals, types) if t not in ptypes]
        if not nals:
            raise RuntimeError(f"frame {i}: no slice data")
        aus.append(AccessUnit(nals=tuple(nals), keyframe=key))
    if codec == "h264":
        return Clip(spec, tuple(aus), None, params[H264_SPS], params[H264_PPS])
    return Clip(spec, tuple(aus), params[H265_VPS], params[H265_SPS], params[H265_PPS])


# ----------------------------------------------------------------------------------------------
# Cache


def default_cache_dir() -> Path:
    """$CAMCHECK_CACHE, else ~/.cache/camcheck/sim."""
    env = os.environ.get("CAMCHECK_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "camcheck" / "sim"


def _spec_dict(spec: ClipSpec) -> dict:
    """The spec as plain JSON values; numbers normalised so fps=25 and fps=25.0 share one cache file."""
    d = dataclasses.asdict(spec)
    d["fps"] = float(spec.fps)
    d["seconds"] = None if spec.seconds is None else float(spec.seconds)
    return d


def _spec_key(spec: ClipSpec) -> str:
    blob = json.dumps({"format": MEDIA_FORMAT_VERSION, "spec": _spec_dict(spec)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _cache_path(spec: ClipSpec, cache_dir: Path) -> Path:
    s = spec
    return cache_dir / f"{s.codec}-{s.width}x{s.height}-{s.look}-{_spec_key(spec)[:20]}.camclip"


def _write_clip(clip: Clip, path: Path) -> None:
    header = json.dumps({"format": MEDIA_FORMAT_VERSION, "spec": _spec_dict(clip.spec),
                         "frames": len(clip.access_units)}).encode()
    parts = [_MAGIC, struct.pack(">II", MEDIA_FORMAT_VERSION, len(header)), header]
    for au in clip.access_units:
        parts.append(struct.pack(">BH", 1 if au.keyframe else 0, len(au.nals)))
        for nal in au.nals:
            parts.append(struct.pack(">I", len(nal)))
            parts.append(nal)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"".join(parts))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers see the old state or the whole file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_clip(spec: ClipSpec, path: Path) -> Clip:
    data = path.read_bytes()
    if not data.startswith(_MAGIC):
        raise ValueError("not a camcheck clip file")
    pos = len(_MAGIC)
    version, hlen = struct.unpack_from(">II", data, pos)
    pos += 8
    if version != MEDIA_FORMAT_VERSION:
        raise ValueError(f"clip file format {version}, expected {MEDIA_FORMAT_VERSION}")
    header = json.loads(data[pos : pos + hlen])
    pos += hlen
    if header["spec"] != _spec_dict(spec):
        raise ValueError("clip file holds another spec")
    packets = []
    for _ in range(header["frames"]):
        key, count = struct.unpack_from(">BH", data, pos)
        pos += 3
        nals = []
        for _ in range(count):
            (length,) = struct.unpack_from(">I", data, pos)
            pos += 4
            if pos + length > len(data):
                raise ValueError("clip file truncated")
            nals.append(data[pos : pos + length])
            pos += length
        packets.append(b"".join(b"\x00\x00\x00\x01" + x for x in nals))
    if pos != len(data):
        raise ValueError("clip file has trailing bytes")
    # Rebuilding re-checks the GOP structure and parameter sets of what was read.
    return _build_clip(spec, packets)


_memo: dict[tuple[str, str], Clip] = {}
_memo_lock = threading.Lock()
_key_locks: dict[tuple[str, str], threading.Lock] = {}


def load_clip(spec: ClipSpec, cache_dir: Path | None = None) -> Clip:
    """The encoded clip for `spec`: from memory, else from the disk cache, else encoded and cached.

    Cache: one file per clip in `cache_dir` (default $CAMCHECK_CACHE or ~/.cache/camcheck/sim),
    named by a hash of the spec and MEDIA_FORMAT_VERSION. Safe across threads and processes: one
    encodes while the others wait on a lock file; the file appears by atomic rename.
    """
    if not isinstance(spec, ClipSpec):
        raise TypeError(f"spec must be a ClipSpec, not {type(spec).__name__}")
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    memo_key = (_spec_key(spec), str(directory.resolve()))
    with _memo_lock:
        if memo_key in _memo:
            return _memo[memo_key]
        key_lock = _key_locks.setdefault(memo_key, threading.Lock())
    with key_lock:
        with _memo_lock:
            if memo_key in _memo:
                return _memo[memo_key]
        clip = _load_or_encode(spec, directory)
        with _memo_lock:
            _memo[memo_key] = clip
        return clip


def _load_or_encode(spec: ClipSpec, directory: Path) -> Clip:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"cannot create simulator clip cache directory {directory}: {e.strerror}") from e
    path = _cache_path(spec, directory)
    with open(path.with_suffix(".lock"), "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process encoding %s", path.name)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if path.exists():
                try:
                    clip = _read_clip(spec, path)
                    log.debug("loaded simulator clip %s", path)
                    return clip
                except (ValueError, KeyError, struct.error, RuntimeError, OSError) as e:
                    log.warning("re-encoding: unusable cached clip %s (%s)", path, e)
            clip = _encode(spec)
            _write_clip(clip, path)
            log.info("cached simulator clip %s", path)
            return clip
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
