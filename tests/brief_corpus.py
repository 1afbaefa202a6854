"""Hostile briefs found by a hostile tester, plus the checks their problems must pass.

Every entry must be refused with a ``BriefError`` whose problems are short and in Bahasa Indonesia; none
may raise anything else, expand in memory or take long. Used by the unit tests of the brief schema and by
the dispatcher's integration tests (dropped into a real bucket beside good items).
"""
from __future__ import annotations

import random
from functools import cache

from humas.brief import MAX_BRIEF_BYTES

GOOD = (b"title: HUT Kota Singkawang ke-25\n"
        b"caption: \"Selamat Hari Jadi! #Singkawang\"\n"
        b"channels: [instagram, x]\n"
        b"sop: singkawang\n"
        b"assets: [poster.jpg]\n"
        b"submitter: skw.ayu\n")
FIELDS = ("title", "caption", "channels", "sop", "assets", "submitter", "event_date", "publish_at", "placements",
          "fit", "notes", "labels")
HUGE_NUMBER = b"9" * 5000


def with_field(field: str, value: bytes) -> bytes:
    """The good brief with ``field`` written as ``value`` (replacing its line, or added)."""
    lines = [line for line in GOOD.splitlines(keepends=True) if not line.startswith(field.encode() + b":")]
    return b"".join(lines) + field.encode() + b": " + value + b"\n"


def _laughs(levels: int, *, flow_map: bool = False) -> bytes:
    """The "billion laughs": each level refers nine times to the one before (9**levels strings)."""
    names = "abcdefghijklmnop"[:levels]
    out = [b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for before, name in zip(names, names[1:]):
        refs = ",".join(f"k{i}: *{before}" if flow_map else f"*{before}" for i in range(9))
        out.append(f"{name}: &{name} {'{' if flow_map else '['}{refs}{'}' if flow_map else ']'}".encode())
    return b"\n".join(out) + b"\n"


def _deep_block(levels: int) -> bytes:
    return b"notes:\n" + b"".join(b"  " * i + b"k:\n" for i in range(1, levels)) + b"  " * levels + b"x\n"


@cache
def corpus() -> dict[str, bytes]:
    """name (usable in an item id) -> brief bytes."""
    rng = random.Random(6)
    hostile: dict[str, bytes] = {f"huge-number-{f.replace('_', '-')}": with_field(f, HUGE_NUMBER) for f in FIELDS}
    hostile.update({
        "huge-negative-number": with_field("title", b"-" + HUGE_NUMBER),
        "huge-hex-number": with_field("caption", b"0x" + b"f" * 4000),
        "huge-float": with_field("title", b"1" * 5000 + b".5"),
        "sexagesimal-number": with_field("title", b"1" + b":59" * 2000),
        "infinite-float": with_field("title", b"1.0e+99999"),
        "nan": with_field("caption", b".nan"),
        "list-as-title": with_field("title", b"[a, b]"),
        "map-as-caption": with_field("caption", b"{a: 1}"),
        "list-as-sop": with_field("sop", b"[singkawang]"),
        "map-as-sop": with_field("sop", b"{id: singkawang}"),
        "list-as-submitter": with_field("submitter", b"[Ayu]"),
        "list-as-fit": with_field("fit", b"[pad]"),
        "map-as-notes": with_field("notes", b"{a: b}"),
        "list-as-event-date": with_field("event_date", b"[2026-12-01]"),
        "map-as-publish-at": with_field("publish_at", b"{a: 1}"),
        "bool-as-publish-at": with_field("publish_at", b"yes"),
        "date-as-title": with_field("title", b"2026-12-01"),
        "binary-as-title": with_field("title", b"!!binary aGVsbG8="),
        "set-as-caption": with_field("caption", b"!!set {a, b}"),
        "placements-list-value": with_field("placements", b"{instagram: [feed]}"),
        "placements-map-value": with_field("placements", b"{instagram: {a: 1}}"),
        "placements-none-value": with_field("placements", b"{instagram: null}"),
        "placements-list": with_field("placements", b"[[x]]"),
        "placements-odd-keys": with_field("placements", b"{1: feed, null: story, 2026-12-01: x}"),
        "channels-nested-list": with_field("channels", b"[[x]]"),
        "channels-of-maps": with_field("channels", b"[{instagram: 1}]"),
        "channels-ten-thousand": with_field("channels", b"[" + b"tiktok," * 8000 + b"x]"),
        "assets-of-maps": with_field("assets", b"[{a: 1}]"),
        "assets-nested-list": with_field("assets", b"[[poster.jpg]]"),
        "assets-ten-thousand": with_field("assets", b"[" + b",".join(b"p%d.jpg" % i for i in range(8000)) + b"]"),
        "labels-nested": with_field("labels", b"[[isu_strategis], {a: 1}]"),
        "unknown-keys-ten-thousand": GOOD + b"".join(b"k%d: 1\n" % i for i in range(6000)),
        "odd-top-level-keys": GOOD + b"1: a\nnull: b\n2026-12-01: c\n[a, b]: d\n",
        "unhashable-key": GOOD + b"? [a, b]\n: c\n",
        "duplicate-key": GOOD + b"caption: lagi\n",
        "brackets-20000-open": with_field("title", b"[" * 20_000),
        "brackets-20000-closed": b"[" * 20_000 + b"]" * 20_000,
        "braces-10000": with_field("notes", b"{a: " * 10_000 + b"1" + b"}" * 10_000),
        "deep-block-mapping": _deep_block(40),
        "deep-but-short": with_field("notes", b"[[[[[[[[x]]]]]]]]"),
        "laughs-classic": _laughs(9),
        "laughs-9-levels": GOOD + _laughs(9) + b"notes: *i\n",
        "laughs-10-levels": GOOD + _laughs(10) + b"notes: *j\n",
        "laughs-mapping": GOOD + _laughs(9, flow_map=True),
        "laughs-in-caption": _laughs(9).replace(b"i: &i", b"caption: &i") + GOOD.replace(b"caption:", b"c0:"),
        "alias-of-a-scalar": GOOD.replace(b"title: HUT", b"title: &t HUT") + b"notes: *t\n",
        "merge-key": GOOD + b"base: &b {fit: pad}\nextra:\n  <<: *b\n",
        "python-object-tag": GOOD + b"notes: !!python/object:os.system {}\n",
        "python-apply-tag": b"!!python/object/apply:os.system [\"echo pwned\"]\n",
        "python-name-tag": with_field("title", b"!!python/name:os.system"),
        "custom-tag": with_field("title", b"!rahasia x"),
        "impossible-date": with_field("event_date", b"2026-02-30"),
        "two-documents": GOOD + b"---\n" + GOOD,
        "over-the-cap": GOOD + b"# " + b"x" * MAX_BRIEF_BYTES + b"\n",
        "caption-10-mb": with_field("caption", b"x" * 10_000_000),
        "long-title-in-cap": with_field("title", b"x" * 60_000),
        "binary-garbage": bytes(rng.randrange(256) for _ in range(4096)),
        "jpeg-named-brief": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(rng.randrange(256) for _ in range(2000)),
        "nul-bytes": GOOD + b"\x00" * 100,
        "control-characters": with_field("title", b"\x1b[31mmerah\x07"),
        "latin-1": GOOD.replace(b"Selamat", b"Caf\xe9"),
        "utf-16-without-bom": GOOD.decode().encode("utf-16-le"),
        "lone-surrogate": with_field("title", b"\xed\xa0\x80"),
        "empty": b"",
        "whitespace-only": b"   \n\n\t\n",
        "comment-only": b"# nothing here\n",
        "document-marker-only": b"---\n",
        "list-top-level": b"- title: HUT\n",
        "number-top-level": HUGE_NUMBER,
        "string-top-level": b"x" * 60_000,
        "unclosed-quote": with_field("title", b'"' + b"x" * 60_000),
        "long-line-syntax-error": GOOD + b"caption: [" + b"x" * 60_000 + b"\n",
    })
    return hostile


BAHASA = ("bukan", "tidak", "harus", "belum", "tulis", "hapus", "pakai", "lebih", "berisi", "memakai", "perbaiki",
          "simpan", "beri", "tambahkan", "persingkat", "salin", "unggah", "ditulis", "bertingkat", "cantumkan")
ENGLISH = (" must ", " is not ", "missing", " should ", "not valid", "unknown", "write the", " use ", "remove ")


def check_problem_words(problems: list, *, max_message: int = 220, max_fix: int = 220) -> None:
    """Each problem names a field and says, briefly and in Bahasa Indonesia, what is wrong and what to do."""
    assert problems, "a refused brief must say why"
    assert len(problems) <= 20, problems
    for problem in problems:
        assert problem.field and len(problem.field) <= 250, problem
        assert 0 < len(problem.message) <= max_message, problem
        assert 0 < len(problem.fix) <= max_fix, problem
        for words in (problem.message, problem.fix):
            assert any(w in words.lower() for w in BAHASA), f"not Bahasa Indonesia: {words!r}"
            assert not any(w in f" {words.lower()} " for w in ENGLISH), f"English words: {words!r}"
