"""The bounded JSON reader for small files people write into the bucket (approval flags)."""
from __future__ import annotations

import time
import tracemalloc

import pytest

from humas.exceptions import InvalidInputError
from humas.jsonio import MAX_JSON_BYTES, MAX_JSON_DEPTH, JsonInputError, load_json_object

SOURCE = "approvals/2026-11-22-hut-kota/step_3_decision.json"


def _refused(data: bytes, **limits: int) -> str:
    """The single problem's message; checks the error's shape and that it is short."""
    with pytest.raises(JsonInputError) as info:
        load_json_object(data, source=SOURCE, **limits)
    error = info.value
    assert isinstance(error, InvalidInputError) and error.source == SOURCE
    (problem,) = error.problems
    assert problem.field == "(berkas)" and problem.fix
    assert len(problem.message) <= 160 and len(str(error)) <= 500, str(error)
    return problem.message


def test_an_object_is_returned_as_a_dict() -> None:
    data = '{"decision": "approve", "by": "Kepala Bidang", "n": 3, "x": 1.5, "ok": true, "list": [1, {"a": null}]}'
    assert load_json_object(data.encode(), source=SOURCE) == {
        "decision": "approve", "by": "Kepala Bidang", "n": 3, "x": 1.5, "ok": True, "list": [1, {"a": None}]}


def test_unicode_and_brackets_inside_strings_are_plain_text() -> None:
    text = '{"comment": "' + "[" * 100 + ' \\" {{ ✓ Hari Jadi"}'
    assert load_json_object(text.encode(), source=SOURCE)["comment"] == "[" * 100 + ' " {{ ✓ Hari Jadi'


def test_too_large_is_refused_before_decoding() -> None:
    data = b'{"a": "' + b"\xff" * MAX_JSON_BYTES + b'"}'  # not UTF-8 either: the size is what is reported
    assert "lebih dari 65536 byte" in _refused(data)
    assert "lebih dari 10 byte" in _refused(b'{"a": "12345"}', max_bytes=10)


def test_exactly_the_limit_is_fine() -> None:
    data = b'{"a": "' + b"x" * (MAX_JSON_BYTES - 9) + b'"}'
    assert len(data) == MAX_JSON_BYTES
    assert len(load_json_object(data, source=SOURCE)["a"]) == MAX_JSON_BYTES - 9


@pytest.mark.parametrize("data", [b'{"by": "caf\xe9"}', b"\xff\xfe{}", b"\x80"])
def test_not_utf8(data: bytes) -> None:
    assert "bukan teks UTF-8" in _refused(data)


@pytest.mark.parametrize("data", [b"", b"approve", b'{"a": 1', b"{'a': 1}", b'{"a": 1} {"b": 2}', b"\x00"])
def test_not_json(data: bytes) -> None:
    assert "bukan JSON yang sah" in _refused(data)


@pytest.mark.parametrize("opening", ["[", "{\"a\": "])
def test_twenty_thousand_open_brackets_are_refused_without_recursion(opening: str) -> None:
    data = (opening * 20_000).encode()
    started = time.monotonic()
    assert f"lebih dari {MAX_JSON_DEPTH} tingkat" in _refused(data, max_bytes=len(data))
    assert time.monotonic() - started < 2


def test_nesting_at_the_limit_is_fine_and_one_more_is_not() -> None:
    inner = '{"a": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"
    assert load_json_object(inner.encode(), source=SOURCE) == {"a": _nested(MAX_JSON_DEPTH - 2)}
    deeper = '{"a": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"
    assert "tingkat" in _refused(deeper.encode())
    assert "tingkat" in _refused(b'{"a": [[[1]]]}', max_depth=3)


def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("number", ["9" * 5000, "-" + "9" * 5000, "1." + "5" * 5000, "1e" + "9" * 500])
def test_huge_numbers_are_refused_not_converted(number: str) -> None:
    assert "angka sepanjang" in _refused(f'{{"n": {number}}}'.encode())


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(constant: str) -> None:
    assert constant in _refused(f'{{"n": {constant}}}'.encode())


def test_a_key_written_twice_is_refused() -> None:
    message = _refused(b'{"decision": "reject", "decision": "approve"}')
    assert "'decision'" in message and "dua kali" in message


@pytest.mark.parametrize("data, kind", [(b"[]", "list"), (b'"approve"', "str"), (b"42", "int"), (b"null", "NoneType")])
def test_top_level_must_be_an_object(data: bytes, kind: str) -> None:
    message = _refused(data)
    assert "objek JSON" in message and kind in message


def test_the_caller_names_the_fix() -> None:
    with pytest.raises(JsonInputError) as info:
        load_json_object(b"[]", source=SOURCE, fix="tulis ulang dengan humas approve")
    assert info.value.problems[0].fix == "tulis ulang dengan humas approve"


def test_hostile_input_stays_small_in_memory() -> None:
    hostile = [b"[" * 60_000, b'{"a": ' * 10_000, b'{"n": ' + b"9" * 60_000 + b"}", b"\xff" * 60_000,
               b'{"a": "' + b"\\" * 60_000]
    tracemalloc.start()
    try:
        for data in hostile:
            with pytest.raises(JsonInputError):
                load_json_object(data, source=SOURCE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024
