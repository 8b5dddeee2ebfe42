"""Image analysis of a stream probe: is the decoded picture live, visible and the registered view?

``analyse(frames, reference)`` turns the few frames a probe decodes into measures (``image`` in the
probe's JSON) and findings (a subset of ``IMAGE_FINDINGS``). It is pure (no I/O) and cheap: every
measure works on a fixed-width downscale (INTER_AREA) or a strided subsample of the picture, so a
1080p check costs a few milliseconds.

Which frames (the probe's job, see ``FRAMES_AFTER_KEYFRAME``): the first keyframe of its window
(``K1``, the best-quality picture: every single-picture measure comes from it), the frames right
after it, and the LAST keyframe of the window (``K2``) when one arrived at least ``MIN_KEY_GAP`` s
after K1. Frozen is only judged from K1 vs K2: P-frames right after a keyframe do not carry a still
scene's sensor noise at camera bitrates (the encoder skips it: on the simulator's healthy ``static``
look 87-100 % of pixels are bit-identical from one frame to the next, as on its ``frozen`` look), so
they cannot tell frozen from still. A fresh keyframe re-encodes whatever the sensor delivers now.
K2 only serves that frozen test, so the probe decodes it only when ``motion_proven(K1, after)`` is
False (the frames after K1 show no clear motion): a moving scene is not frozen.

All measures ignore two OSD bands (``OSD_BAND`` of the height at the top and at the bottom), where
cameras burn the clock (top-left or top-right) and the camera name (bottom): the OSD stays sharp on
a defocused lens, bright on a black picture and ticking on a frozen one.

Measures (luma levels are the decoded Y plane as is: limited range, black ~16, white ~235):

- ``brightness``, ``contrast``: mean and standard deviation of luma.
- ``peak``: 98th percentile of luma (how bright the brightest parts are).
- ``highlights``: fraction of pixels at or above 215 (within ~9 % of white).
- ``structure``: RMS of a band-pass (80 px wide picture minus its Gaussian blur, sigma 3) in luma
  levels: the scene's edges and objects at a scale where sensor noise is averaged away (each pixel
  of the 80 px picture averages >= 16 source pixels) and smooth shading (a hand's glow) is removed.
- ``sharpness``: median over textured blocks of sqrt(E_mid / E_low), the energies of two octave
  bands of the <= 640 px picture: levels 1 (mid) and 2 (low) of its Laplacian pyramid, i.e. 1/16-1/8
  and 1/32-1/16 cycles per pixel at 640 px (level 0, where compression noise lives, is left out).
  Natural pictures have a ~1/f spectrum, so the ratio does not depend on contrast or resolution;
  defocus removes the mid band first. None when fewer than 4 blocks have texture (black, covered).
  (A pyramid costs ~0.2 ms where the Gaussian differences it replaced cost ~1 ms per check.)
- ``change``: median over a 40-column grid of the mean absolute per-pixel difference between K1 and
  K2 (strided subsample, no averaging, so it keeps the noise): sensor noise makes every block differ,
  an identical source re-encoded differs only by re-quantisation. None with one keyframe.
- ``noise``: sensor noise sigma estimated from K1 vs K2 in the flattest 30 % of the grid blocks
  (E|n1 - n2| = 2 sigma / sqrt(pi)); what survives encoding, not what the sensor made. None with
  one keyframe.
- ``motion``: fraction of grid blocks of the 160 px picture whose mean changed by more than
  ``motion_level`` between K1 and the last frame (K2, else the last frame after K1).
- ``similarity``: with a reference picture, cosine similarity of the gradient fields (128 px wide,
  blurred) after aligning the best translation found by phase correlation (up to ``scene_max_shift``
  of the width, the drift of a loose mount), times the overlap. Gradient directions survive
  brightness, contrast, gamma and day/night changes and sensor noise; a different view does not.
- ``shift``: that translation as a fraction of the width. ``key_gap``: seconds from K1 to K2.
- ``empty_frames``: from the bitstream, not the pictures (the probe counts every frame of its window
  from packet headers; see ``empty_frames()``): the fraction of inter frames coded as (almost)
  nothing, at most ``empty_frame_bytes`` of payload. An encoder codes a frame that repeats the
  previous one as skips only, a few dozen bytes; a live sensor's grain costs every frame more.
  None with fewer than MIN_INTER_FRAMES inter frames.

Findings (at most one of black / overexposed / covered / dark, in that order of precedence):
``black`` (peak near video black), ``overexposed`` (mostly near white), ``covered`` (no structure),
``dark`` (mean near black, weak structure), ``blurred`` (low sharpness on a picture with structure),
``frozen`` (suspected: K1 and K2 differ by no more than re-quantisation, or most inter frames are
empty and K1 and K2 differ little, and nothing moves; only on an otherwise sound picture: on a
black, covered, dark or defocused one the encoder erases a live sensor's noise as well; never with a
single keyframe),
``scene_changed`` (similarity to the reference below the threshold).

Thresholds: see ``ImageThresholds``, each with the calibration numbers and the margin it leaves.
The distributions (decoded simulator clips of every look at 320x180..1280x720 in H.264 and H.265,
and Debian's GStreamer RTSP server streaming natural photographs) are recorded in
``tests/data/image-calibration.json``; ``bench/calibrate_image.py`` regenerates it.

Hard cases, by nature rather than by tuning:

- A still scene whose sensor noise the encoder erases completely (flat, dim content at a low
  bitrate) decodes exactly like a frozen picture: reported as suspected frozen.
- An encoder whose rate control re-encodes a frozen picture's keyframe at another QP produces
  differences as large as live sensor noise: that check misses the freeze (GStreamer's x264 did so
  in ~2 checks out of 10). The daemon should confirm "frozen" as k-of-n suspicions over checks, not
  as n consecutive ones.
- ``dark`` vs a usable night picture is a definition (mean luma within ~19 levels of black), not a
  gap in the data: the calibrated night pictures sit only 1.13x above it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from camcheck.probe.observation import IMAGE_FINDINGS

# One thread per OpenCV call: on pictures this small its worker threads cost more than they save
# (sharpness alone took twice the CPU with 2 workers as with 1 here), and a daemon already runs
# many probes' analyses side by side on the picture threads.
cv2.setNumThreads(1)


@dataclass(frozen=True)
class DecodedFrame:
    """One decoded picture as the probe hands it over."""

    image: np.ndarray  # 8-bit luma (the decoded Y plane as is), H x W
    t: float  # seconds on the RTP clock, relative to the first decoded frame
    keyframe: bool


# Frames right after the first keyframe the probe should decode too: they give `motion` when the
# window holds a single keyframe; frozen is judged from two keyframes (see the module docstring).
FRAMES_AFTER_KEYFRAME: int = 2
# A second keyframe closer than this to the first says nothing about time passing.
MIN_KEY_GAP: float = 0.4

OSD_BAND = 0.16  # fraction of the height masked at the top and at the bottom
DETAIL_WIDTH = 640  # sharpness and the per-pixel temporal differences work at most this wide
STRUCTURE_WIDTH = 80
MOTION_WIDTH = 160
SCENE_WIDTH = 128
GRID_COLS = 40
SIGNATURE_COLS = 16  # the picture signature's grid (see picture_signature_change)
HIGHLIGHT_LEVEL = 215
SHARPNESS_TEXTURE = 4.0  # a block's coarse-band energy above noise level (2 luma levels RMS)


@dataclass(frozen=True)
class ImageThresholds:
    """Every threshold of the findings. Defaults: the calibrated values (see the margins below).

    Calibration (bench/calibrate_image.py -> tests/data/image-calibration.json), min..max over
    checks of decoded simulator clips (320x180..1280x720, H.264 and H.265) and GStreamer streams:
    each default sits between the worst healthy case and the worst faulty case, nearer the side
    where a false alarm would cost more (a single check only suspects; the daemon confirms).
    """

    # black: the brightest 2 % of the picture within ~14 levels of video black (16). Black looks:
    # peak 18-19; the dimmest others: dark 55, night 56. 30 is 1.6x / 1.8x from them.
    black_max_peak: float = 30.0
    # covered: no scene structure at all (a hand, tape, a bag). Covered looks 0.23-0.87 (black
    # <= 0.50); the least structured healthy picture (night: dim, flat, grainy) >= 2.96: 1.8 is
    # 2.1x / 1.6x from them.
    covered_max_structure: float = 1.8
    # dark: mean within ~19 levels of black (< 9 % of the range) and no strong structure (a street
    # with lit shop windows is dark on average yet usable). This is a definition, not a gap in the
    # data: night looks (usable) have means >= 39.2, GStreamer's dark case 32.1 (structure 5.8).
    dark_max_brightness: float = 35.0
    dark_max_structure: float = 8.0
    # blurred: defocused looks 0.35-0.54 (the simulator's 320x180 one is the sharpest); focused
    # pictures >= 0.797 (day, night, lighting changes; the dark case 0.73). 0.65 is 1.21x / 1.23x
    # from them. Judged only with structure >= 4.
    blurred_max_sharpness: float = 0.65
    blurred_min_structure: float = 4.0
    # overexposed: overexposed looks have 0.62-0.86 of pixels >= 215; healthy <= 0.12 (a brighter
    # lighting of the same scene). 0.4 is 1.6x / 3.3x from them.
    overexposed_min_highlights: float = 0.4
    # frozen (suspected): K1 vs K2 `change` at most this and no block really moving (`motion`).
    # Frozen: GStreamer 0-0.90 (imagefreeze + ticking clock/timecode; 0-1.14 in earlier
    # recordings) in most checks, but ~4 in about 2 checks out of 10 of earlier recordings, when
    # x264's rate control re-encoded the frozen picture's IDR at another QP; simulator H.264 0-1.36
    # at 320x180 and 640x360, 0.47-2.41 at 720p (same cause, milder), H.265 1.94-2.42. Healthy live
    # still scenes: >= 2.27 (static, clean sensor), >= 2.67 (simulator), GStreamer's dim night rocket
    # 1.84-3.15 (1.35 once in 28 windows sampled on 2026-12-05: suspected frozen there), 1.72
    # (overexposed, flagged as such). 1.6 is 1.4x below the strict healthy minimum and catches every
    # GStreamer frozen check and the simulator's 320x180/640x360 H.264 ones; its 720p and H.265
    # frozen checks are often missed by it (the H.265 ones are caught by their empty inter frames,
    # below): a single check may miss (the daemon confirms over several), it must not cry wolf on a
    # healthy still scene. A still scene whose noise the encoder erases
    # entirely ("quiet": flat, dim, 256-512 kbit/s: 0.41-0.96) cannot be told from frozen in one
    # check and is reported frozen.
    frozen_max_change: float = 1.6
    # ... or `noise` (K1 vs K2 in the flattest blocks, where re-quantising an identical picture
    # changes almost nothing but a live sensor's grain does not go away) at most this. Healthy live
    # still scenes: >= 1.71 (GStreamer static, clean sensor), >= 1.79 (simulator static/night),
    # GStreamer's night rocket 1.34-2.63. Frozen keyframes re-coded at another quality (`change`
    # above 1.6): simulator 720p 0.68 (caught), 1.75 (missed), H.265 1.27-1.40 (missed); a QP jump
    # as large as GStreamer's (noise 3.3) is missed too: the daemon confirms over checks and
    # forgives one miss. 1.2 is 1.12x below the lowest healthy figure, 1.43x below the strict ones.
    frozen_max_noise: float = 1.2
    # ... or most inter frames empty (`empty_frames`, see empty_frame_bytes) while K1 vs K2 `change`
    # stays at most frozen_empty_max_change. Empty fractions: simulator frozen clips 0.52-0.96 at
    # 320x180 and 640x360, H.264 and H.265 (its encoder, like a camera's, has a QP floor, so a
    # repeated picture is coded as skips), 0.04-0.08 at 720p (at 1.5 Mbit/s the encoder still
    # refines the picture within a GOP); GStreamer's x264 (no QP floor) keeps refining a frozen
    # picture: 0-0.17 (those are caught by `change`). Live pictures (simulator and GStreamer: still,
    # night, normal, lighting, clean sensor): at most 0.06; still scenes whose noise the encoder
    # erased ("quiet"): 0-0.08. 0.3 is 1.7x below the frozen clips and 5x above any live picture.
    # The change bound keeps a live scene whose keyframes show clear sensor noise out of it, should
    # its encoder skip whole frames anyway (smart codecs that code only what they judge changed):
    # the frozen clips this rule alone catches (H.265) change 1.94-2.42; 3.2 leaves a 1.3x margin
    # and keeps noisy scenes out (simulator night 5.7-6.6); healthy still scenes (2.26-4.06) are
    # told apart by their inter frames, which are never empty.
    frozen_min_empty_frames: float = 0.3
    frozen_empty_max_change: float = 3.2
    frozen_max_motion: float = 0.01
    motion_level: float = 4.0
    # scene_changed: another view <= 0.053, covered <= 0.285; the same view under other light,
    # gamma, night, drift, blur >= 0.79, overexposed >= 0.56, black >= 0.43. 0.4 is 7x above the
    # other views and 2x below the same view when it is usable (black and overexposed are findings
    # of their own). Drift tolerated up to 9 % of the width.
    scene_min_similarity: float = 0.4
    scene_max_shift: float = 0.09

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise ValueError(f"image threshold {name} must be a finite number >= 0, not {value!r}")


DEFAULT_THRESHOLDS = ImageThresholds()


@dataclass
class ImageAnalysis:
    measures: dict[str, float | None] = field(default_factory=dict)  # the probe's JSON "image"
    findings: list[str] = field(default_factory=list)  # subset of IMAGE_FINDINGS, in that order
    signature: np.ndarray | None = field(default=None, repr=False)  # K1's, see picture_signature_change


def _area(img: np.ndarray, width: int) -> np.ndarray:
    """Area-averaged downscale to `width` (never upscales), in the input's type (8-bit input gives
    8-bit levels: OpenCV rounds the averages)."""
    h, w = img.shape
    width = min(width, w)
    height = max(4, int(round(width * h / w)))
    if (height, width) == img.shape:
        return img
    q = w // width
    if (w, h) == (width * q, height * q):  # both sides by one integer factor
        if q >= 4 and q & (q - 1) == 0:  # a power of 2
            return _area_by_halvings(img, width)
        if q % 2 and img.dtype == np.uint8:  # 3, 5, ...: 1920 -> 640
            return _area_by_box(img, q)
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def _area_by_halvings(img: np.ndarray, width: int) -> np.ndarray:
    """The same values as one INTER_AREA resize by 4, 8, ...: OpenCV vectorises only its halving,
    and its generic integer-factor path costs ~6x more (110 us against 20 for 640x240 -> 160x60).
    Halving in float32 is exact (means of integers over 2^k x 2^k blocks are exact binary
    fractions); rounding half to even at the end is what the direct 8-bit resize does."""
    out = img.astype(np.float32)
    while out.shape[1] > width:
        out = cv2.resize(out, (out.shape[1] // 2, out.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if img.dtype == np.uint8:
        return np.rint(out).astype(np.uint8)
    return out


def _area_by_box(img: np.ndarray, q: int) -> np.ndarray:
    """The same 8-bit values as one INTER_AREA resize by an odd factor q: OpenCV's box filter,
    vectorised, then every q-th pixel, whose q x q window is exactly one output pixel's area (3x
    at 1080p: 0.19 ms where the resize's generic integer path takes 0.62). The filter rounds the
    mean as the resize does; an odd q*q never leaves a mean at exactly one half."""
    return cv2.blur(img, (q, q))[q // 2 :: q, q // 2 :: q]


def _resize(img: np.ndarray, width: int) -> np.ndarray:
    """Area-averaged downscale to `width` (never upscales), float32."""
    return _area(img, width).astype(np.float32)


def _analysed_rows(h: int, w: int) -> tuple[int, int]:
    """The rows measured: the OSD bands cut off, and the last < 8s rows too (s = w // 640, at the
    OSD band's edge) so that every downscale of the analysis (the <= 640 px view, its halves down to
    1/8, the grids) is an exact integer area average: OpenCV's integer path costs 2-10x less than its
    fractional one. At 640, 1280, 1920, 2560 and 3840 px wide it holds from the decoded picture to
    the grids."""
    r0 = int(round(h * OSD_BAND))
    r1 = h - r0
    return r0, r1 - (r1 - r0) % (8 * max(1, w // DETAIL_WIDTH))


class _Picture:
    """One frame, OSD bands cut off, with lazily computed views."""

    def __init__(self, frame: DecodedFrame) -> None:
        if not isinstance(frame, DecodedFrame):
            raise TypeError(f"expected a DecodedFrame, not {type(frame).__name__}")
        y = frame.image
        if not isinstance(y, np.ndarray) or y.ndim != 2 or y.dtype != np.uint8:
            shape = getattr(y, "shape", None)
            dtype = getattr(y, "dtype", None)
            raise ValueError(f"a decoded frame must be a 2-D uint8 luma array, not shape {shape} dtype {dtype}")
        h, w = y.shape
        if h < 32 or w < 32:
            raise ValueError(f"picture too small to analyse: {w}x{h} (needs at least 32x32)")
        r0, r1 = _analysed_rows(h, w)
        s = max(1, w // DETAIL_WIDTH)
        self.image = y
        self.crop = y[r0:r1]  # a view (the decoder's buffer, rows strided), no copy
        self.w = w
        # A strided subsample keeps per-pixel noise (averaging would hide it) at <= 640 px wide.
        self.sub = np.ascontiguousarray(self.crop[::s, ::s])
        self._cache: dict[int, np.ndarray] = {}
        self._levels: dict[int, np.ndarray] = {}  # 8-bit views, where `at` made one on the way

    def at(self, width: int) -> np.ndarray:
        """The picture area-averaged to `width` (float32). Narrow views come from the <= 640 px one:
        one pass over the full-resolution picture per frame."""
        if width not in self._cache:
            if width >= DETAIL_WIDTH or self.w <= DETAIL_WIDTH:
                levels = self._levels[width] = _area(self.crop, width)
                self._cache[width] = levels.astype(np.float32)
            else:
                self._cache[width] = _resize(self.at(DETAIL_WIDTH), width)
        return self._cache[width]

    def levels(self, width: int) -> np.ndarray | None:
        """`at(width)` as the 8-bit levels it was converted from, when it was (straight from the
        decoded picture: views of pictures at most DETAIL_WIDTH wide); else None."""
        self.at(width)
        return self._levels.get(width)

    def compact(self) -> None:
        """Drop the full-size picture and every view but `sub` and the coarse ones (K1 kept for K2)."""
        self.crop = self.image = None  # type: ignore[assignment]
        if not self.sub.flags.owndata:  # a view of the decoder's frame would keep the whole frame alive
            self.sub = self.sub.copy()
        self._cache = {k: v for k, v in self._cache.items() if k < 0}
        self._levels = {}

    def coarse(self, width: int) -> np.ndarray:
        """A narrow view from the strided subsample: cheap for frames that need only this."""
        key = -width
        if key not in self._cache:
            self._cache[key] = _resize(self.sub, width)
        return self._cache[key]


def _grid(values: np.ndarray, cols: int = GRID_COLS) -> np.ndarray:
    """Block means of `values` (float32) on a `cols`-wide grid."""
    h, w = values.shape
    cols = min(cols, w)
    rows = max(2, int(round(cols * h / w)))
    return cv2.resize(values, (cols, rows), interpolation=cv2.INTER_AREA)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with the kernel cut at 3 sigma (OpenCV's default, 4 sigma for float images,
    spends a quarter more for tails below 0.5 % of the weight)."""
    k = 2 * math.ceil(3 * sigma) + 1
    return cv2.GaussianBlur(img, (k, k), sigma)


def _percentile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q) (linear interpolation), ~7x cheaper here: 8-bit values from their
    histogram (one pass, no sort), others from a partial sort."""
    n = values.size
    k = q / 100 * (n - 1)
    lo = int(k)
    hi = min(lo + 1, n - 1)
    if values.dtype == np.uint8:
        cum = np.cumsum(cv2.calcHist([values.reshape(1, -1) if values.ndim == 1 else values], [0], None,
                                     [256], [0, 256]).ravel())
        a, b = (float(np.searchsorted(cum, r, side="right")) for r in (lo, hi))
    else:
        part = np.partition(values.ravel(), (lo, hi))
        a, b = float(part[lo]), float(part[hi])
    return a + (k - lo) * (b - a)


def _structure(p: _Picture) -> float:
    img = p.at(STRUCTURE_WIDTH)
    band = img - _blur(img, 3.0)
    return float(np.sqrt(np.mean(band * band)))


def _octave_below(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the band of `img` one octave below its sampling rate's half, `img` at half width): one
    level of a Laplacian pyramid (OpenCV's 5-tap Gaussian pyramid)."""
    down = cv2.pyrDown(img)
    band = img - cv2.pyrUp(down, dstsize=(img.shape[1], img.shape[0]))
    return band, down


def _sharpness(p: _Picture) -> float | None:
    # Bands of the <= 640 px picture, an octave apart: mid = level 1 of its Laplacian pyramid (the
    # 320 px picture's finest octave), low = level 2. Level 0 is left out: at camera bitrates it
    # holds compression noise more than detail.
    l1 = cv2.pyrDown(p.at(DETAIL_WIDTH))  # level 1's input; level 0's band itself is not used
    mid, l2 = _octave_below(l1)
    low, _ = _octave_below(l2)
    e_mid, e_low = _grid(mid * mid, 20), _grid(low * low, 20)
    if e_low.shape != e_mid.shape:
        e_low = cv2.resize(e_low, (e_mid.shape[1], e_mid.shape[0]), interpolation=cv2.INTER_AREA)
    textured = e_low > SHARPNESS_TEXTURE
    if int(textured.sum()) < 4:
        return None
    return float(np.median(np.sqrt(e_mid[textured] / e_low[textured])))


def _change_and_noise(a: _Picture, b: _Picture) -> tuple[float, float]:
    mad = _grid(cv2.absdiff(a.sub, b.sub).astype(np.float32))
    change = float(np.median(mad))
    # Flat blocks: least texture (gradient energy of the 160 px view) in K1.
    c = a.coarse(MOTION_WIDTH)
    g = cv2.Sobel(c, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(c, cv2.CV_32F, 0, 1) ** 2
    texture = cv2.resize(g, (mad.shape[1], mad.shape[0]), interpolation=cv2.INTER_AREA)
    flat = texture <= _percentile(texture, 30)
    noise = float(mad[flat].mean()) * math.sqrt(math.pi) / 2.0
    return change, noise


def _motion(a: _Picture, b: _Picture, level: float) -> float:
    blocks = _grid(cv2.absdiff(a.coarse(MOTION_WIDTH), b.coarse(MOTION_WIDTH)))
    return np.count_nonzero(blocks > level) / blocks.size


# motion_proven: K1 vs the frames right after it, block means of the 160 px picture (as `motion`)
# that changed by more than MOTION_PROVEN_LEVEL, in at least MOTION_PROVEN_MIN of the blocks.
# Proving motion only ever saves decoding K2, the frozen test's second picture, so what matters is
# that a frozen picture never proves it. Calibration (`motion_proof` of each case in
# tests/data/image-calibration.json: simulator clips of every look, 320x180..1280x720, H.264/H.265,
# decoded as the probe decodes them, P-frames without deblocking; GStreamer streams after their
# start-up second; up to MOTION_PROOF_FRAMES frames after each keyframe): every frozen picture,
# ticking OSD clock included, changes 0 blocks at this level (at level 4: at most 0.005, a
# GStreamer clock's edge). What is left is an OSD clock outside the masked bands: a seconds tick
# changes 1-4 blocks of the ~600 of a 16:9 picture (< 0.7 %), below 0.01. A live still scene may prove
# motion (grain or flicker in a few blocks of the simulator's 640x360 and 720p night scenes: it is
# live, so that is right); moving scenes prove it after 1-5 frames, and a small moving object (a
# ball over ~3 % of GStreamer's picture) after 1-4 frames in most windows, where 0.03 never did.
MOTION_PROVEN_LEVEL: float = 8.0
MOTION_PROVEN_MIN: float = 0.01


# The probe keeps up to this many frames after K1 for that proof and decodes them one by one, stopping
# at the first that proves motion. A scene's motion is intermittent: on the simulator's moving street
# (640x360 and 1080p) the 2 frames after K1 proved motion in some windows only (0-0.18 of the blocks)
# while 4 frames reached >= 0.013 and 8 frames >= 0.19 in every window. The P-frames of a still
# scene are almost all skip blocks, so decoding them costs little next to the second keyframe.
MOTION_PROOF_FRAMES: int = 8


class MotionProof:
    """Compares frames decoded after the first keyframe with it, one at a time (see motion_proven)."""

    def __init__(self, k1: DecodedFrame) -> None:
        self._k1 = _Picture(k1)
        self._latest: _Picture | None = None

    def fraction(self, frame: DecodedFrame) -> float:
        """The fraction of blocks that changed by more than MOTION_PROVEN_LEVEL since K1."""
        self._latest = _Picture(frame)
        return _motion(self._k1, self._latest, MOTION_PROVEN_LEVEL)

    def shows_motion(self, frame: DecodedFrame) -> bool:
        return self.fraction(frame) >= MOTION_PROVEN_MIN

    def picture(self, frame: DecodedFrame) -> _Picture | None:
        """K1's or the latest frame's picture, views included, when `frame` shows the same image."""
        for p in (self._k1, self._latest):
            if p is not None and p.image is frame.image:
                return p
        return None


def motion_proven(k1: DecodedFrame, after: Sequence[DecodedFrame]) -> bool:
    """True when the frames right after the first keyframe already show real motion against it.

    Then the second keyframe cannot change the verdict (frozen needs no motion), so the probe need
    not decode it. Conservative: a still or frozen scene never counts (see the calibration above);
    False also when there is nothing to compare.
    """
    if not after:
        return False
    proof = MotionProof(k1)
    return any(proof.shows_motion(f) for f in after)


def _gradients(img: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    s = cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    s = s.astype(np.float32) if s.dtype != np.float32 else s
    s = _blur(s, 1.0)
    return cv2.Sobel(s, cv2.CV_32F, 1, 0), cv2.Sobel(s, cv2.CV_32F, 0, 1)


def _overlap(n: int, d: int) -> tuple[slice, slice]:
    """Slices of the current picture and of the reference that overlap when shifted by d."""
    return (slice(d, n), slice(0, n - d)) if d >= 0 else (slice(0, n + d), slice(-d, n))


def _similarity(reference: np.ndarray, p: _Picture, max_shift: float) -> tuple[float, float]:
    r0, r1 = _analysed_rows(*reference.shape)  # the same rows as the picture's, so the aspects agree
    ref = reference[r0:r1]
    sw = min(SCENE_WIDTH, p.w)
    sh = max(8, int(round(sw * p.crop.shape[0] / p.crop.shape[1])))
    gx1, gy1 = _gradients(p.at(DETAIL_WIDTH), (sh, sw))
    gx2, gy2 = _gradients(ref, (sh, sw))  # the reference is stretched to the stream's aspect
    m1, m2 = np.hypot(gx1, gy1), np.hypot(gx2, gy2)
    (dx, dy), _ = cv2.phaseCorrelate(m2, m1, cv2.createHanningWindow((sw, sh), cv2.CV_32F))
    if math.hypot(dx, dy) / sw > max_shift:
        dx = dy = 0.0  # beyond a loose mount's drift: compare as is (a moved camera scores low)
    ix, iy = int(round(dx)), int(round(dy))
    cy, ry = _overlap(sh, iy)
    cx, rx = _overlap(sw, ix)
    a_x, a_y, b_x, b_y = gx1[cy, cx], gy1[cy, cx], gx2[ry, rx], gy2[ry, rx]
    den = math.sqrt(float(np.sum(a_x * a_x + a_y * a_y)) * float(np.sum(b_x * b_x + b_y * b_y)))
    if den < 1e-6:
        return 0.0, math.hypot(ix, iy) / sw  # one of them has no edges at all: nothing in common
    cos = float(np.sum(a_x * b_x + a_y * b_y)) / den
    return cos * (a_x.size / (sw * sh)), math.hypot(ix, iy) / sw


# empty_frame_bytes(pixels) = EMPTY_FRAME_BASE_BYTES + pixels / EMPTY_FRAME_PIXELS_PER_BYTE: the
# largest inter frame counted as empty. Coded as skips only, a frame takes a slice header and a bit or
# less per macroblock: the simulator's repeated pictures take 9 bytes at 320x180 (the bound: 31), 14
# (H.264) and 39 (H.265) at 640x360 (52), 31 at 1280x720 (136). The smallest live frames: 54 bytes at
# 320x180, 76 (H.264) and 109 (H.265) at 640x360, 2117 at 1280x720 (simulator), 137 at 640x360
# (GStreamer); frames that carry an OSD clock's tick are larger too. Margins 1.3-1.7x at the
# sub-stream sizes where the frames are smallest; a frame near the bound counts for one frame of
# the window only (the rule wants frozen_min_empty_frames of them).
EMPTY_FRAME_BASE_BYTES = 24
EMPTY_FRAME_PIXELS_PER_BYTE = 8192
MIN_INTER_FRAMES = 10


def empty_frame_bytes(pixels: int) -> float:
    """The largest payload (bytes) of an inter frame of a `pixels`-pixel picture counted as empty."""
    return EMPTY_FRAME_BASE_BYTES + pixels / EMPTY_FRAME_PIXELS_PER_BYTE


def empty_frames(inter_sizes: Sequence[int], pixels: int | None) -> float | None:
    """The fraction of inter frames (payload bytes each, as the probe counted them) that are empty
    (see empty_frame_bytes); None when the picture size is unknown or there are fewer than
    MIN_INTER_FRAMES of them (a window of mostly keyframes says nothing)."""
    if not pixels or pixels <= 0 or len(inter_sizes) < MIN_INTER_FRAMES:
        return None
    limit = empty_frame_bytes(pixels)
    return sum(1 for n in inter_sizes if n <= limit) / len(inter_sizes)


def _pick(frames: Sequence[DecodedFrame]) -> tuple[DecodedFrame, list[DecodedFrame], DecodedFrame | None]:
    """K1 (first keyframe, else the first frame), the frames after it, K2 (last keyframe >= MIN_KEY_GAP later)."""
    if isinstance(frames, DecodedFrame) or not isinstance(frames, Sequence):
        raise TypeError("frames must be a sequence of DecodedFrame")
    if not frames:
        raise ValueError("no decoded frames to analyse")
    for f in frames:
        if not isinstance(f, DecodedFrame):
            raise TypeError(f"expected DecodedFrame items, not {type(f).__name__}")
        if not isinstance(f.t, (int, float)) or not math.isfinite(f.t):
            raise ValueError(f"frame time must be a finite number of seconds, not {f.t!r}")
    ordered = sorted(frames, key=lambda f: f.t)
    i = next((k for k, f in enumerate(ordered) if f.keyframe), 0)
    first = ordered[i]
    last = None
    for f in ordered[i + 1 :]:
        if f.keyframe and f.t - first.t >= MIN_KEY_GAP:
            last = f
    after = [f for f in ordered[i + 1 :] if f is not last]
    return first, after, last


@dataclass
class FirstKeyframe:
    """What `analyse_first` keeps of K1 for `analyse_second`: its measures and two small views
    (the <= 640 px strided subsample and the 160 px picture), not the decoded picture itself, so a
    probe can analyse K1 early and wait for K2 holding ~0.2 MB instead of a decoder frame."""

    measures: dict[str, float | None]
    t: float
    _picture: _Picture
    thresholds: ImageThresholds
    signature: np.ndarray | None = None


def analyse_first(
    first: DecodedFrame,
    after: Sequence[DecodedFrame] = (),
    reference: np.ndarray | None = None,
    thresholds: ImageThresholds = DEFAULT_THRESHOLDS,
    proof: MotionProof | None = None,
) -> FirstKeyframe:
    """Every measure of K1 (and `motion` against the last of `after`), before K2 is known.
    `proof`: the MotionProof that compared these frames; its pictures' views are reused."""
    if not isinstance(thresholds, ImageThresholds):
        raise TypeError(f"thresholds must be ImageThresholds, not {type(thresholds).__name__}")
    if reference is not None and (not isinstance(reference, np.ndarray) or reference.ndim != 2
                                  or reference.dtype != np.uint8 or min(reference.shape) < 32):
        raise ValueError("reference must be a 2-D uint8 luma picture at least 32x32 (see load_reference)")
    th = thresholds

    def picture(frame: DecodedFrame) -> _Picture:
        return (proof.picture(frame) if proof is not None else None) or _Picture(frame)

    k1 = picture(first)
    tail = picture(after[-1]) if after else None
    small = k1.at(320)
    levels = k1.levels(320)  # the same values in 8 bits (<= 640 px pictures): a histogram gives the peak
    mean, std = cv2.meanStdDev(small)  # one pass (numpy's mean and std take two, and a temporary)
    m: dict[str, float | None] = {
        "brightness": float(mean[0, 0]),
        "contrast": float(std[0, 0]),
        "peak": _percentile(small if levels is None else levels, 98),
        "highlights": np.count_nonzero(k1.sub >= HIGHLIGHT_LEVEL) / k1.sub.size,
        "structure": _structure(k1),
        "sharpness": _sharpness(k1),
        "change": None,
        "noise": None,
        "motion": _motion(k1, tail, th.motion_level) if tail is not None else None,
        "key_gap": None,
        "similarity": None,
        "shift": None,
        "empty_frames": None,
    }
    if reference is not None:
        m["similarity"], m["shift"] = _similarity(reference, k1, th.scene_max_shift)
    signature = _grid(k1.coarse(MOTION_WIDTH), SIGNATURE_COLS)
    k1.compact()
    return FirstKeyframe(measures=m, t=first.t, _picture=k1, thresholds=th, signature=signature)


def analyse_second(first: FirstKeyframe, last: DecodedFrame | None = None,
                   empty: float | None = None) -> ImageAnalysis:
    """The measures and findings of the check: K1's, completed with K2 (`last`) when there is one
    (it must be a keyframe at least MIN_KEY_GAP after K1: the caller picks it), and with the window's
    `empty_frames` fraction (`empty`, from the bitstream) when known."""
    th = first.thresholds
    m = dict(first.measures)
    if empty is not None:
        if not isinstance(empty, (int, float)) or not 0.0 <= empty <= 1.0:
            raise ValueError(f"empty_frames must be a fraction between 0 and 1, not {empty!r}")
        m["empty_frames"] = float(empty)
    if last is not None:
        k1, k2 = first._picture, _Picture(last)
        m["motion"] = _motion(k1, k2, th.motion_level)
        m["key_gap"] = last.t - first.t
        m["change"], m["noise"] = _change_and_noise(k1, k2)
    for k, v in m.items():
        if v is not None:
            m[k] = round(v, 4)
    return ImageAnalysis(measures=m, findings=findings_for(m, th), signature=first.signature)


def picture_signature_change(a: np.ndarray, b: np.ndarray) -> float | None:
    """How far apart two checks' pictures are, from their signatures: the largest change of a grid
    cell's mean level (None: grids of different shapes, e.g. another resolution or aspect).

    The signature is K1's luma averaged on a SIGNATURE_COLS-wide grid, OSD bands cut off. Averaging
    over thousands of pixels erases sensor noise and re-quantisation (an encoder re-coding a frozen
    picture keeps each block's mean), so what is left is the scene itself: light, shadows, anything
    that came or went. The frozen signs within one check (change, noise, empty_frames) need seconds;
    this one needs hours, and catches what they miss (see camcheck.verdict.unchanged)."""
    if a.shape != b.shape:
        return None
    return float(np.max(np.abs(a.astype(np.float32) - b.astype(np.float32))))


def analyse(
    frames: Sequence[DecodedFrame],
    reference: np.ndarray | None = None,
    thresholds: ImageThresholds = DEFAULT_THRESHOLDS,
    empty: float | None = None,
) -> ImageAnalysis:
    """Measures and findings for the frames of one check (see the module docstring); `empty`: the
    window's `empty_frames` fraction when known (see empty_frames())."""
    first, after, last = _pick(frames)
    return analyse_second(analyse_first(first, after, reference, thresholds), last, empty)


def findings_for(m: dict[str, float | None], th: ImageThresholds = DEFAULT_THRESHOLDS) -> list[str]:
    """The findings that measures `m` (as returned by `analyse`) imply under thresholds `th`."""
    found: set[str] = set()
    structure = m["structure"] or 0.0
    black = m["peak"] is not None and m["peak"] <= th.black_max_peak
    overexposed = (m["highlights"] or 0.0) >= th.overexposed_min_highlights
    if black:
        found.add("black")
    elif overexposed:
        found.add("overexposed")
    elif structure <= th.covered_max_structure:
        found.add("covered")
    elif (m["brightness"] or 0.0) <= th.dark_max_brightness and structure <= th.dark_max_structure:
        found.add("dark")
    if (
        not found
        and structure >= th.blurred_min_structure
        and m["sharpness"] is not None
        and m["sharpness"] <= th.blurred_max_sharpness
    ):
        found.add("blurred")
    # Frozen is judged only on an otherwise sound picture: on a black, covered, dark or defocused
    # one the encoder erases a live sensor's noise too (GStreamer: dark 1.33-1.51, blurred
    # 1.43-1.92 while live), and that finding already says the camera is not usable as it is.
    change = m["change"]
    empty = m.get("empty_frames")
    still_as_frozen = change is not None and (
        change <= th.frozen_max_change
        or (m.get("noise") is not None and m["noise"] <= th.frozen_max_noise)
        or (empty is not None and empty >= th.frozen_min_empty_frames and change <= th.frozen_empty_max_change)
    )
    if not found and still_as_frozen and m["motion"] is not None and m["motion"] <= th.frozen_max_motion:
        found.add("frozen")
    if m["similarity"] is not None and m["similarity"] < th.scene_min_similarity:
        found.add("scene_changed")
    return [f for f in IMAGE_FINDINGS if f in found]


def load_reference(data: bytes) -> np.ndarray:
    """A reference picture (JPEG or PNG bytes) as 8-bit luma. Raises ValueError on anything else."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"reference image must be bytes, not {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("reference image is empty (0 bytes)")
    head = bytes(data[:8])
    if not (head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n")):
        raise ValueError("reference image is neither JPEG nor PNG (unrecognised file signature)")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ValueError("reference image could not be decoded (truncated or corrupt JPEG/PNG)")
    if img.dtype != np.uint8:  # 16-bit PNG
        img = (img >> 8).astype(np.uint8)
    if min(img.shape) < 32:
        raise ValueError(f"reference image too small: {img.shape[1]}x{img.shape[0]} (needs at least 32x32)")
    if img.shape[1] > DETAIL_WIDTH:  # analyse() never looks finer: shrink once, not at every check
        h = max(32, int(round(DETAIL_WIDTH * img.shape[0] / img.shape[1])))
        img = cv2.resize(img, (DETAIL_WIDTH, h), interpolation=cv2.INTER_AREA)
    return img
