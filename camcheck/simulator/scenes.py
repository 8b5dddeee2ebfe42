"""Scenes the simulated cameras look at, composed from the photographs scikit-image ships.

Each scene is a wide 16:9 "canvas" (a mosaic of several real photographs laid out like a view of a
street, a lobby, ...) somewhat larger than the picture, so the camera view can drift over it, plus a
photographic object (a cut-out) that crosses the view. Real photographic texture matters: the image
analyser under test measures sharpness, noise and change on it, and synthetic gradients would make
those measures meaningless.

Public: ``SCENES`` (names), ``scene_canvas(name, width, height)`` (float32 BGR canvas, cached),
``view(name, width, height, phase, moving, loop_seconds)`` (the camera's view at loop phase 0..1).
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

# A scene is a list of (photo, rect in canvas fractions (x0, y0, x1, y1), BGR tint multiplier).
# Photos are cropped to fill their rect; later entries paint over earlier ones.
_Tint = tuple[float, float, float]
_NEUTRAL: _Tint = (1.0, 1.0, 1.0)
_LAYOUTS: dict[str, list[tuple[str, tuple[float, float, float, float], _Tint]]] = {
    "street": [
        ("brick", (0.0, 0.0, 1.0, 0.55), (0.55, 0.75, 1.05)),  # terracotta wall
        ("gravel", (0.0, 0.55, 1.0, 1.0), (0.9, 0.92, 0.95)),  # road surface
        ("motorcycle_left", (0.05, 0.30, 0.50, 0.92), _NEUTRAL),
        ("rocket", (0.56, 0.06, 0.94, 0.56), _NEUTRAL),  # billboard
        ("page", (0.60, 0.62, 0.86, 0.80), (0.95, 0.98, 1.0)),  # notice board
    ],
    "lobby": [
        ("brick", (0.0, 0.0, 1.0, 0.62), (0.85, 0.85, 0.85)),
        ("gravel", (0.0, 0.62, 1.0, 1.0), (0.75, 0.8, 0.85)),  # floor
        ("astronaut", (0.30, 0.05, 0.64, 0.66), _NEUTRAL),  # poster
        ("coffee", (0.02, 0.55, 0.36, 0.98), _NEUTRAL),  # cafe counter
        ("chelsea", (0.68, 0.45, 0.98, 0.95), _NEUTRAL),
        ("text", (0.04, 0.08, 0.26, 0.30), _NEUTRAL),  # sign
    ],
    "parking": [
        ("gravel", (0.0, 0.0, 1.0, 1.0), (0.82, 0.84, 0.86)),
        ("motorcycle_right", (0.52, 0.18, 0.98, 0.80), _NEUTRAL),
        ("coins", (0.04, 0.10, 0.30, 0.42), _NEUTRAL),  # pay machine display
        ("camera", (0.06, 0.50, 0.44, 0.96), (0.92, 0.95, 1.0)),
        ("clock", (0.32, 0.04, 0.50, 0.34), _NEUTRAL),
    ],
    "garden": [
        ("grass", (0.0, 0.0, 1.0, 1.0), (0.45, 0.85, 0.5)),  # lawn, green
        ("hubble_deep_field", (0.0, 0.0, 1.0, 0.22), (1.3, 1.1, 1.0)),  # dusk sky strip
        ("chelsea", (0.08, 0.32, 0.40, 0.84), _NEUTRAL),
        ("coffee", (0.58, 0.40, 0.94, 0.90), _NEUTRAL),
        ("astronaut", (0.44, 0.26, 0.60, 0.62), _NEUTRAL),
    ],
}
SCENES: tuple[str, ...] = tuple(_LAYOUTS)

# The canvas exceeds the view by this fraction each way, room for the slow drift of the view.
_MARGIN = 0.08


@functools.lru_cache(maxsize=None)
def _photo(name: str) -> np.ndarray:
    """A scikit-image sample photograph as float32 BGR."""
    import skimage.data  # optional dependency (extra "simulator"): imported only when needed

    if name in ("motorcycle_left", "motorcycle_right"):
        left, right, _ = skimage.data.stereo_motorcycle()
        rgb = left if name == "motorcycle_left" else right
    else:
        rgb = getattr(skimage.data, name)()
    rgb = np.asarray(rgb)
    if rgb.dtype == bool:
        rgb = rgb.astype(np.uint8) * 255
    if rgb.ndim == 2:
        rgb = np.stack([rgb] * 3, axis=-1)
    rgb = rgb[..., :3]
    return np.ascontiguousarray(rgb[..., ::-1]).astype(np.float32)  # RGB -> BGR


def _fill(photo: np.ndarray, w: int, h: int) -> np.ndarray:
    """Crop `photo` to the aspect of w x h (centred) and resize it to exactly w x h."""
    ph, pw = photo.shape[:2]
    target = w / h
    if pw / ph > target:
        cw = max(1, round(ph * target))
        x0 = (pw - cw) // 2
        photo = photo[:, x0 : x0 + cw]
    else:
        ch = max(1, round(pw / target))
        y0 = (ph - ch) // 2
        photo = photo[y0 : y0 + ch]
    shrinking = w < photo.shape[1]
    return cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def canvas_size(width: int, height: int) -> tuple[int, int]:
    """Width and height of the canvas a width x height view drifts over."""
    return width + 2 * math.ceil(width * _MARGIN), height + 2 * math.ceil(height * _MARGIN)


@functools.lru_cache(maxsize=16)
def scene_canvas(name: str, width: int, height: int) -> np.ndarray:
    """The whole scene for a width x height view, float32 BGR 0..255 (read-only, cached)."""
    if name not in _LAYOUTS:
        raise ValueError(f"unknown scene {name!r}; available: {', '.join(SCENES)}")
    cw, ch = canvas_size(width, height)
    canvas = np.zeros((ch, cw, 3), np.float32)
    for photo_name, (fx0, fy0, fx1, fy1), tint in _LAYOUTS[name]:
        x0, y0, x1, y1 = round(fx0 * cw), round(fy0 * ch), round(fx1 * cw), round(fy1 * ch)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        tile = _fill(_photo(photo_name), x1 - x0, y1 - y0) * np.asarray(tint, np.float32)
        canvas[y0:y1, x0:x1] = tile
    np.clip(canvas, 0, 255, out=canvas)
    canvas.setflags(write=False)
    return canvas


@functools.lru_cache(maxsize=16)
def _sprite(height: int) -> tuple[np.ndarray, np.ndarray]:
    """The moving object: a photographic cut-out (the cat's head) with a soft elliptical alpha mask."""
    cat = _photo("chelsea")[20:280, 120:360]  # the cat, roughly
    sh = max(8, height // 4)
    sw = max(8, round(sh * cat.shape[1] / cat.shape[0]))
    img = cv2.resize(cat, (sw, sh), interpolation=cv2.INTER_AREA if sh < cat.shape[0] else cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    r = ((xx - sw / 2) / (sw / 2)) ** 2 + ((yy - sh / 2) / (sh / 2)) ** 2
    alpha = np.clip((1.0 - r) * 4.0, 0.0, 1.0)[..., None]  # soft edge, like a real object's outline
    return img, alpha


def view(name: str, width: int, height: int, phase: float, moving: bool, loop_seconds: float = 8.0) -> np.ndarray:
    """The camera's view of scene `name` at loop phase 0 <= phase < 1, float32 BGR (a new array).

    With `moving`, the view drifts on a closed curve over the canvas (wind, a loose mount) and an
    object wanders to and fro across it. Both are periodic in the phase, so one loop repeats
    seamlessly, and their speeds are capped in picture widths per second of video (a short loop
    moves less, not faster): drift <= 2 %/s, object <= 10 %/s.
    """
    canvas = scene_canvas(name, width, height)
    ch, cw = canvas.shape[:2]
    mx, my = (cw - width) / 2, (ch - height) / 2
    if not moving:
        x0, y0 = int(mx), int(my)
        return canvas[y0 : y0 + height, x0 : x0 + width].copy()
    a = 2 * math.pi * phase
    t = max(loop_seconds, 1e-3)
    ax = min(0.8 * mx, 0.02 * width * t / (2 * math.pi))
    ay = min(0.5 * my, 0.01 * height * t / (4 * math.pi))
    m = np.float32([[1, 0, mx + ax * math.sin(a)], [0, 1, my + ay * math.sin(2 * a)]])
    out = cv2.warpAffine(
        canvas, m, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
    )
    img, alpha = _sprite(height)
    sh, sw = img.shape[:2]
    ox_amp = min(0.4 * width, 0.10 * width * t / (2 * math.pi))
    ox = round(width * 0.55 - sw / 2 + ox_amp * math.sin(a))
    oy = round(height * 0.62 - sh / 2 + min(0.03 * height, 0.02 * height * t / (4 * math.pi)) * math.sin(2 * a))
    x0, x1 = max(0, ox), min(width, ox + sw)
    y0, y1 = max(0, oy), min(height, oy + sh)
    if x1 > x0 and y1 > y0:
        src = img[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        al = alpha[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        roi = out[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = roi * (1 - al) + src * al
    return out
