"""The on-screen display (OSD) IP cameras burn into their pictures: clock top-left, name bottom-right.

Drawn after the optics and the sensor (sharp even when the scene is blurred, ticking even when the
sensor pipeline is frozen), white text with a dark outline, as real cameras do.
"""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX
# The clock of frame 0; the OSD ticks once per second of video from there.
OSD_EPOCH = dt.datetime(2026, 11, 22, 14, 3, 7)
_SAMPLE_TIME = "2026-11-22 14:03:07"  # the widest the clock text gets (fixed-width format)


def _metrics(height: int) -> tuple[float, int, int, int]:
    """Font scale, text thickness, outline width and margin for a picture `height` pixels high."""
    scale = max(0.35, height / 720 * 0.9)
    thick = max(1, round(height / 400))
    outline = max(1, round(height / 360))
    margin = max(4, height // 40)
    return scale, thick, outline, margin


def osd_time(index: int, fps: float) -> str:
    """The clock text of frame `index`: whole seconds of video since OSD_EPOCH."""
    return (OSD_EPOCH + dt.timedelta(seconds=int(index // fps))).strftime("%Y-%m-%d %H:%M:%S")


_Box = tuple[int, int, int, int]


def _layout(width: int, height: int, camera_name: str, time_text: str) -> list[tuple[str, int, int, _Box]]:
    """(text, x, baseline y, box) for the clock and the name; box = (x0, y0, x1, y1) with outline."""
    scale, thick, outline, margin = _metrics(height)
    (_, th), _ = cv2.getTextSize(_SAMPLE_TIME, _FONT, scale, thick)
    out = []
    for text, right in ((time_text, False), (camera_name, True)):
        (tw, _), base = cv2.getTextSize(text, _FONT, scale, thick)
        x = width - margin - tw if right else margin
        y = height - margin - base if right else margin + th
        pad = outline + thick + 1
        box = (max(0, x - pad), max(0, y - th - pad), min(width, x + tw + pad), min(height, y + base + pad))
        out.append((text, x, y, box))
    return out


def osd_boxes(width: int, height: int, camera_name: str) -> list[tuple[int, int, int, int]]:
    """Pixel boxes (x0, y0, x1, y1) that may hold OSD text (clock, name), outline included."""
    return [box for _, _, _, box in _layout(width, height, camera_name, _SAMPLE_TIME)]


def draw_osd(img: np.ndarray, time_text: str, camera_name: str) -> np.ndarray:
    """Draw the clock and the camera name on uint8 BGR `img` in place; returns `img`."""
    height, width = img.shape[:2]
    scale, thick, outline, _ = _metrics(height)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * outline + 1, 2 * outline + 1))
    for text, x, y, (x0, y0, x1, y1) in _layout(width, height, camera_name, time_text):
        if x1 <= x0 or y1 <= y0:
            continue
        # Draw into a mask and grow it for the outline: cv2's thicker strokes also widen the
        # letter spacing, so a thick dark pass would not line up with the white text.
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.putText(mask, text, (x - x0, y - y0), _FONT, scale, 255, thick, cv2.LINE_AA)
        fg = mask.astype(np.float32)[..., None] / 255
        ring = cv2.dilate(mask, kernel).astype(np.float32)[..., None] / 255
        roi = img[y0:y1, x0:x1].astype(np.float32)
        roi = roi * (1 - ring) + 16 * ring
        roi = roi * (1 - fg) + 255 * fg
        img[y0:y1, x0:x1] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)
    return img
