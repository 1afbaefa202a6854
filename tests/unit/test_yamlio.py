"""The bounded strict YAML loader shared by SOP files and briefs."""
from __future__ import annotations

from datetime import date

import pytest
import yaml

from humas.resources import include_dir
from humas.yamlio import (MAX_NUMBER_CHARS, MAX_YAML_BYTES, MAX_YAML_DEPTH, StrictYamlError, load_strict,
                          short_repr)


def _refused(text: str | bytes, kind: str, **limits: int) -> StrictYamlError:
    with pytest.raises(StrictYamlError) as info:
        load_strict(text, **limits)
    assert info.value.kind == kind
    assert len(str(info.value)) < 400, str(info.value)
    return info.value


def test_plain_yaml_loads() -> None:
    text = "a: 1\nb: [x, 2.5, true, null]\nc: {d: 2026-12-01}\nn: " + "9" * MAX_NUMBER_CHARS + "\n"
    assert load_strict(text) == {"a": 1, "b": ["x", 2.5, True, None], "c": {"d": date(2026, 12, 1)},
                                 "n": int("9" * MAX_NUMBER_CHARS)}


def test_every_sop_file_loads_and_uses_no_anchor_or_alias() -> None:
    paths = sorted((include_dir() / "sops").glob("*.yaml"))
    assert paths
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert isinstance(load_strict(text), dict), path
        events = list(yaml.parse(text))
        assert not any(isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None) for e in events), path


@pytest.mark.parametrize("text", ["x" * (MAX_YAML_BYTES + 1), b"x" * (MAX_YAML_BYTES + 1), "é" * (MAX_YAML_BYTES // 2 + 1)])
def test_over_the_byte_cap_is_refused_before_parsing(text: str | bytes) -> None:
    error = _refused(text, "too_large")
    assert error.problem_mark is None and str(MAX_YAML_BYTES) in str(error)


def test_the_byte_cap_can_be_lowered() -> None:
    assert load_strict("a: 1", max_bytes=4) == {"a": 1}
    assert _refused("a: 12", "too_large", max_bytes=4).value == "5"


@pytest.mark.parametrize("text", ["a: &a x\nb: *a\n", "a: &a {x: 1}\nb:\n  <<: *a\n", "- &a [1]\n- *a\n"])
def test_any_alias_is_refused_at_its_line(text: str) -> None:
    error = _refused(text, "alias")
    assert error.value == "a" and error.problem_mark.line in (1, 2)


def test_an_anchor_alone_is_harmless() -> None:
    assert load_strict("a: &a x\n") == {"a": "x"}


@pytest.mark.parametrize("text", ["[" * 20_000, "[" * 30 + "]" * 30, "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 30))])
def test_nesting_over_the_limit_is_refused_without_recursion(text: str) -> None:
    assert _refused(text, "too_deep").value == str(MAX_YAML_DEPTH)


def test_nesting_at_the_limit_loads() -> None:
    levels = MAX_YAML_DEPTH - 1  # the scalar inside is one level too
    assert load_strict("[" * levels + "x" + "]" * levels) is not None
    _refused("[[[x]]]", "too_deep", max_depth=3)


@pytest.mark.parametrize("number", ["9" * 5000, "-" + "9" * 5000, "0x" + "f" * 4000, "0b" + "1" * 200,
                                    "1" + ":59" * 100, "1" * 300 + ".5", "9" * (MAX_NUMBER_CHARS + 1)])
def test_numbers_too_long_are_refused_not_converted(number: str) -> None:
    assert _refused(f"n: {number}\n", "long_number").value == str(len(number))


@pytest.mark.parametrize("tag", ["!!python/object:os.system {}", "!!python/object/apply:os.system [id]",
                                 "!!python/name:os.system", "!custom x", "!<tag:example.com,2000:x> y"])
def test_tags_outside_the_safe_types_are_refused(tag: str) -> None:
    _refused(f"a: {tag}\n", "tag")


def test_repeated_key_and_impossible_date_keep_their_kinds() -> None:
    assert _refused("a: 1\na: 2\n", "duplicate_key").value == "'a'"
    assert _refused("d: 2026-02-30\n", "bad_date").value == "'2026-02-30'"
    long_key = "? " + "k" * 5000 + "\n: 1\n"  # an explicit key: a plain one may not be over 1024 characters
    assert len(_refused(long_key * 2, "duplicate_key").value) <= 60


@pytest.mark.parametrize("text", [b"\xff\xfe\xff\xd8garbage\x00", "a: \x00", b"caf\xe9: 1", "a: [1,\n", "- a\nb: c"])
def test_other_bad_input_is_a_yaml_error(text: str | bytes) -> None:
    with pytest.raises(yaml.YAMLError) as info:
        load_strict(text)
    assert len(str(info.value)) < 400


def test_short_repr_is_bounded_for_anything() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    nested: list = []
    for _ in range(5000):
        nested = [nested]
    assert short_repr(10 ** 5000) == "<number of about 5001 digits>"
    assert len(short_repr("x" * 10_000)) == 60 and "..." in short_repr("x" * 10_000)
    assert len(short_repr("x" * 10_000, 20)) == 20
    assert short_repr(nested) == "[[[[...]]]]"
    assert short_repr(Broken()).startswith("<Broken")
    assert short_repr({"a": list(range(1000))}, 30) == "{'a': [0, 1, 2, 3, 4, 5, ...]}"
    assert short_repr("poster.jpg") == "'poster.jpg'"
