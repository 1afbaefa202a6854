"""Unicode hygiene of the text staff write: what a brief's text fields may not carry, and why.

A lone surrogate cannot be encoded (it crashed the concept step), bidi overrides and isolates make text
read differently from what it is (a caption shown one way to the approver and posted another), and control
characters other than line breaks and tabs have no place in a post. Each problem names the field, where in
it the character is, and what to do.
"""
from __future__ import annotations

import unicodedata
from typing import Any, Iterator, Mapping

from humas.exceptions import Problem

# Explicit bidi embeddings, overrides and isolates (Unicode TR9), which reorder what follows them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ALLOWED_CONTROLS = frozenset("\n\t\r")


def char_trouble(char: str) -> str | None:
    """Why ``char`` may not be in a brief's text (in Bahasa Indonesia), or None when it may."""
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "surrogate tunggal (karakter rusak, biasanya emoji yang terpotong)"
    if char in BIDI_CONTROLS:
        return "kontrol arah teks (bidi) yang membuat teks tampil berbeda dari isinya"
    if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROLS:
        return "karakter kontrol yang tidak terlihat"
    return None


def text_problems(field: str, text: str) -> list[Problem]:
    """One problem per kind of forbidden character in ``text``, with the first position of each."""
    seen: dict[str, int] = {}
    for position, char in enumerate(text):
        trouble = char_trouble(char)
        if trouble and trouble not in seen:
            seen[trouble] = position
    return [Problem(field, f"memuat {trouble} (U+{ord(text[pos]):04X} pada karakter ke-{pos + 1})",
                    "hapus karakter itu (ketik ulang bagian itu atau salin dari sumber yang bersih) lalu unggah ulang")
            for trouble, pos in seen.items()]


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _strings(key, where)
            yield from _strings(inner, f"{where}.{key}" if isinstance(key, str) else where)
    elif isinstance(value, (list, tuple)):
        for n, inner in enumerate(value):
            yield from _strings(inner, f"{where}[{n}]")


def brief_text_problems(raw: Mapping[Any, Any]) -> list[Problem]:
    """Every text in a parsed brief (field names, values, list entries), checked with ``text_problems``."""
    problems: list[Problem] = []
    for field, value in raw.items():
        name = field if isinstance(field, str) and not any(map(char_trouble, field)) else "(nama kolom)"
        for where, text in _strings(value, name):
            problems += text_problems(where, text)
        if name == "(nama kolom)" and isinstance(field, str):
            problems += text_problems(name, field)
    return problems
