"""A bounded JSON reader for small files people write into the bucket (approval flags and the like).

``load_json_object`` refuses, with one short problem and never another exception: input over a byte cap
(checked before decoding), bytes that are not UTF-8, text that is not JSON, nesting deeper than a limit
(counted by a linear scan before parsing, so 20,000 ``[`` never reach Python's recursion limit), a number
longer than ``MAX_NUMBER_CHARS`` or not finite (NaN, Infinity), a key written twice, and a top level that
is not an object. Approvers may read the problem, so its words are Bahasa Indonesia.
"""
from __future__ import annotations

import json
from typing import Any

from humas.exceptions import InvalidInputError, Problem
from humas.yamlio import MAX_NUMBER_CHARS, short_repr

MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 20
FIX = "tulis ulang berkas sebagai satu objek JSON, mis. {\"decision\": \"approve\"}"


class JsonInputError(InvalidInputError):
    """A JSON file refused by ``load_json_object``: ``source`` names it, ``problems`` holds one ``Problem``
    with field ``(berkas)``. A ``HumasError``/``InvalidInputError``, so existing handlers catch it."""


def _too_deep(text: str, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than ``max_depth`` (brackets inside strings do not count)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _number(text: str) -> int | float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"berisi angka sepanjang {len(text)} karakter, lebih dari {MAX_NUMBER_CHARS}")
    return float(text) if any(c in text for c in ".eE") else int(text)


def _not_a_number(name: str) -> float:
    raise ValueError(f"berisi {name}, yang bukan angka JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"menulis kunci {short_repr(key, 40)} dua kali")
        result[key] = value
    return result


def load_json_object(data: bytes, *, source: str, max_bytes: int = MAX_JSON_BYTES,
                     max_depth: int = MAX_JSON_DEPTH, fix: str = FIX) -> dict[str, Any]:
    """Parse ``data`` as one JSON object; otherwise raise ``JsonInputError`` (an ``InvalidInputError``).

    ``source`` names the file in the error (e.g. ``approvals/<item>/<gate>.json``); ``fix`` is what the
    reader should do. Read at most ``max_bytes + 1`` bytes from the bucket (``Store.get_bytes(key,
    max_bytes=max_bytes + 1)``) and pass them here: more than ``max_bytes`` is refused undecoded.
    """
    def refuse(what: str) -> JsonInputError:
        return JsonInputError(source, [Problem("(berkas)", what, fix)])

    if len(data) > max_bytes:
        raise refuse(f"lebih dari {max_bytes} byte")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"bukan teks UTF-8 (byte ke-{exc.start})") from exc
    if _too_deep(text, max_depth):
        raise refuse(f"bertingkat lebih dari {max_depth} tingkat")
    try:
        value = json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_not_a_number,
                           object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise refuse(f"bukan JSON yang sah ({exc.msg}; baris {exc.lineno}, kolom {exc.colno})") from exc
    except (ValueError, RecursionError) as exc:
        raise refuse(short_repr(str(exc), 100).strip("'\"")) from exc
    if not isinstance(value, dict):
        raise refuse(f"harus berupa objek JSON {{...}}, bukan {type(value).__name__}")
    return value
