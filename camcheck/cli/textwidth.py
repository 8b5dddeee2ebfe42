"""Padding by the width a terminal gives text, not by its characters: Thai vowel and tone marks
(and other combining marks) take no column, East Asian wide characters take two."""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """Terminal columns `text` takes (as wcwidth counts them, for the scripts a registry holds)."""
    cols = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        cols += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return cols


def ljust(text: str, columns: int) -> str:
    """`text` followed by enough spaces to fill `columns` terminal columns (never cut)."""
    return text + " " * max(0, columns - width(text))
