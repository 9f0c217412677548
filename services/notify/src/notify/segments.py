"""How many SMS segments a text takes: GSM-7 160/153 characters, UCS-2 70/67 (DESIGN, issue: Cyrillic is UCS-2)."""

from __future__ import annotations

import math

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def encoding_of(text: str) -> str:
    """`gsm7` when every character is in the GSM 03.38 alphabet, else `ucs2`."""
    return "gsm7" if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text) else "ucs2"


def segments(text: str) -> int:
    """Segments the text is split into (concatenated SMS carry a header, so fewer characters per part)."""
    if encoding_of(text) == "gsm7":
        length, single, multi = sum(2 if c in GSM7_EXTENDED else 1 for c in text), 160, 153
    else:
        length, single, multi = len(text.encode("utf-16-le")) // 2, 70, 67
    if length <= single:
        return 1
    return math.ceil(length / multi)
