"""Thai digits (๐-๙) and Thai number words (สามสิบ = 30, สิบเอ็ด = 11, ร้อยยี่สิบ = 120, ...)."""

from __future__ import annotations

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")

_DIGIT_WORDS: dict[str, int] = {
    "ศูนย์": 0,
    "หนึ่ง": 1,
    "เอ็ด": 1,  # "one" after a multiplier: สิบเอ็ด 11, ร้อยเอ็ด 101
    "สอง": 2,
    "ยี่": 2,  # "two" before สิบ: ยี่สิบ 20
    "สาม": 3,
    "สี่": 4,
    "ห้า": 5,
    "หก": 6,
    "เจ็ด": 7,
    "แปด": 8,
    "เก้า": 9,
}
_MULTIPLIERS: dict[str, int] = {"สิบ": 10, "ร้อย": 100, "พัน": 1000, "หมื่น": 10_000, "แสน": 100_000}
_MILLION = "ล้าน"

# Longest first so that e.g. "สี่" is not read as "สี" + something.
_VOCAB = sorted([*_DIGIT_WORDS, *_MULTIPLIERS, _MILLION], key=len, reverse=True)


def thai_digits_to_arabic(text: str) -> str:
    """Replace Thai digits with ASCII digits (๒๕๖๔ -> 2564); everything else unchanged."""
    return text.translate(_THAI_DIGITS)


def _tokens(text: str) -> list[str]:
    s = "".join(text.split())
    out: list[str] = []
    i = 0
    while i < len(s):
        for word in _VOCAB:
            if s.startswith(word, i):
                out.append(word)
                i += len(word)
                break
        else:
            raise ValueError(f"not a Thai number word: {text!r}")
    return out


def _below_million(tokens: list[str], text: str) -> int:
    total = 0
    pending: int | None = None  # a digit waiting for its multiplier
    last_mult = 10**7
    for tok in tokens:
        if tok in _DIGIT_WORDS:
            if pending is not None:
                raise ValueError(f"two digits in a row in {text!r}")
            if tok == "เอ็ด" and total == 0:
                raise ValueError(f"เอ็ด must follow a multiplier in {text!r}")
            if tok == "ยี่":
                pending = -2  # only valid before สิบ
            else:
                pending = _DIGIT_WORDS[tok]
            continue
        mult = _MULTIPLIERS[tok]
        if mult >= last_mult:
            raise ValueError(f"multipliers out of order in {text!r}")
        if pending == -2 and mult != 10:
            raise ValueError(f"ยี่ must be followed by สิบ in {text!r}")
        digit = 1 if pending is None else abs(pending)
        if pending == 1 and mult == 10:
            raise ValueError(f"'หนึ่งสิบ' is not how ten is written in {text!r}")
        if pending == 2 and mult == 10:
            raise ValueError(f"twenty is ยี่สิบ, not สองสิบ, in {text!r}")
        total += digit * mult
        last_mult = mult
        pending = None
    if pending is not None:
        if pending == -2:
            raise ValueError(f"ยี่ must be followed by สิบ in {text!r}")
        total += pending
    return total


def parse_thai_number_words(text: str) -> int:
    """Parse a whole number written in Thai words; raises ValueError on anything else.

    Accepts forms like หนึ่ง, สิบ, สิบเอ็ด, ยี่สิบ, ยี่สิบเอ็ด, สามสิบ, ร้อย, หนึ่งร้อยยี่สิบ, สองพันห้าร้อยหกสิบสี่,
    หนึ่งล้าน (spaces between words are ignored).
    """
    tokens = _tokens(text)
    if not tokens:
        raise ValueError("empty number")
    total = 0
    group: list[str] = []
    for tok in tokens:
        if tok == _MILLION:
            # "ล้าน" multiplies everything before it (สิบล้าน = 10,000,000)
            total = (total + (_below_million(group, text) if group else 1)) * 1_000_000
            group = []
        else:
            group.append(tok)
    if group:
        total += _below_million(group, text)
    return total


def looks_like_thai_words(text: str) -> bool:
    try:
        parse_thai_number_words(text)
        return True
    except ValueError:
        return False
