"""YAML reading shared by the SOP files and the briefs: safe, strict and bounded.

Strict: a key written twice and a date that does not exist are errors. Bounded, so that a hostile file
can neither exhaust memory nor raise anything but ``yaml.YAMLError``: the input is refused over a byte
cap before parsing, aliases are refused (no "billion laughs" expansion; no brief or SOP needs them),
nesting is limited, a number longer than ``MAX_NUMBER_CHARS`` is refused (Python cannot even format an
int over 4,300 digits), any tag outside the safe YAML types is refused, and any other error while
building the document becomes a ``StrictYamlError``. Every message is short: values are shown with
``short_repr``, never whole.
"""
from __future__ import annotations

import math
import reprlib
from typing import Any

import yaml

MAX_YAML_BYTES = 256 * 1024
MAX_YAML_DEPTH = 20
MAX_NUMBER_CHARS = 100
REPR_LIMIT = 60


class StrictYamlError(yaml.MarkedYAMLError):
    """A document refused by ``load_strict`` for a reason other than plain syntax.

    ``kind`` says which, so callers can word it for their readers: ``too_large``, ``alias``, ``too_deep``,
    ``long_number``, ``tag``, ``duplicate_key``, ``bad_date`` or ``unreadable``; ``value`` is the short
    text of the offending key, date, tag or size (empty when there is none).
    """

    def __init__(self, kind: str, problem: str, mark: yaml.Mark | None = None, value: str = "") -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.kind = kind
        self.value = value


class _ShortRepr(reprlib.Repr):
    """``reprlib`` that also copes with ints too long for ``repr`` (over 4,300 digits)."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 3 * self.maxlong:  # more digits than we would show anyway
            digits = int(x.bit_length() * math.log10(2)) + 1
            return f"<number of about {digits} digits>"
        return super().repr_int(x, level)


_REPR = _ShortRepr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = REPR_LIMIT
_REPR.maxlevel = 3


def short_repr(value: Any, limit: int = REPR_LIMIT) -> str:
    """``repr(value)`` cut to at most ``limit`` characters; safe for huge, deep or odd values."""
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is still named
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses repeated keys, impossible dates, aliases, deep nesting, long numbers
    and unknown tags (see the module docstring)."""

    max_depth = MAX_YAML_DEPTH

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            name = str(event.anchor)[:30]  # the scanner lets only letters, digits, '-' and '_' into a name
            raise StrictYamlError("alias", f"uses the alias *{name}; aliases are not allowed", event.start_mark, name)
        if self._depth >= self.max_depth:
            raise StrictYamlError("too_deep", f"is nested more than {self.max_depth} levels deep",
                                  self.peek_event().start_mark, str(self.max_depth))
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise StrictYamlError("duplicate_key", f"duplicate key {short_repr(key)} (the first one would be "
                                      "ignored)", key_node.start_mark, short_repr(key))
            if isinstance(key, str):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date that does not exist (2026-02-30) is a YAML problem at its line, not a crash."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise StrictYamlError("bad_date", f"{short_repr(node.value)} is a date or time that does not exist "
                                  f"({short_repr(str(exc))})", node.start_mark, short_repr(node.value)) from exc

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        self._check_number_length(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        self._check_number_length(node)
        return super().construct_yaml_float(node)

    def construct_undefined(self, node: yaml.Node) -> Any:
        tag = short_repr(node.tag, 40)
        raise StrictYamlError("tag", f"uses the tag {tag}, which is not allowed", node.start_mark, tag)

    @staticmethod
    def _check_number_length(node: yaml.ScalarNode) -> None:
        if len(node.value) > MAX_NUMBER_CHARS:
            raise StrictYamlError("long_number", f"has a number of {len(node.value)} characters, more than "
                                  f"{MAX_NUMBER_CHARS}", node.start_mark, str(len(node.value)))


UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", UniqueKeyLoader.construct_yaml_timestamp)
UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", UniqueKeyLoader.construct_yaml_int)
UniqueKeyLoader.add_constructor("tag:yaml.org,2002:float", UniqueKeyLoader.construct_yaml_float)
UniqueKeyLoader.add_constructor(None, UniqueKeyLoader.construct_undefined)


def _size(text: str | bytes, max_bytes: int) -> int:
    if isinstance(text, bytes) or len(text) > max_bytes:  # a str has at least as many bytes as characters
        return len(text)
    return len(text.encode("utf-8", errors="surrogatepass"))


def load_strict(text: str | bytes, *, max_bytes: int = MAX_YAML_BYTES, max_depth: int = MAX_YAML_DEPTH) -> object:
    """Parse one YAML document; raise ``yaml.YAMLError`` (``StrictYamlError`` for the limits) and nothing else.

    Refuses input over ``max_bytes`` before parsing, aliases, nesting deeper than ``max_depth``, numbers
    over ``MAX_NUMBER_CHARS`` characters, tags outside the safe YAML types, repeated keys and impossible
    dates. Messages are short whatever the input.
    """
    size = _size(text, max_bytes)
    if size > max_bytes:
        raise StrictYamlError("too_large", f"is {size} bytes, more than the limit of {max_bytes}", value=str(size))
    try:
        return _load(text, max_depth)
    except yaml.YAMLError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a hostile document provokes is a YAML error here
        raise StrictYamlError("unreadable", f"cannot be read ({type(exc).__name__}: {short_repr(str(exc))})") from exc


def _load(text: str | bytes, max_depth: int) -> object:
    loader = UniqueKeyLoader(text)
    loader.max_depth = max_depth
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
