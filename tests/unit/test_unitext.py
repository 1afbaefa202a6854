"""Unicode hygiene of a brief's text: lone surrogates, bidi overrides and control characters are refused."""
from __future__ import annotations

import pytest

from brief_corpus import GOOD
from humas.brief import parse_brief
from humas.exceptions import BriefError
from humas.unitext import brief_text_problems, text_problems


@pytest.mark.parametrize("text, code", [
    ("\ud83c", "U+D83C"), ("a\udc00b", "U+DC00"), ("harga \u202e001 Rp", "U+202E"), ("x\u2066y", "U+2066"),
    ("bel\x07", "U+0007"), ("nul\x00", "U+0000"), ("esc\x1b[31m", "U+001B"), ("del\x7f", "U+007F"),
])
def test_each_forbidden_character_is_a_problem_naming_code_and_place(text: str, code: str) -> None:
    (problem,) = text_problems("caption", text)
    assert problem.field == "caption" and code in problem.message and "karakter ke-" in problem.message
    assert "hapus" in problem.fix


@pytest.mark.parametrize("text", ["Selamat Hari Jadi 🎉 #Singkawang", "baris satu\nbaris dua\tx", "عربي ok", "é ü ß"])
def test_ordinary_text_emoji_and_line_breaks_pass(text: str) -> None:
    assert text_problems("caption", text) == []


def test_a_brief_with_a_lone_surrogate_caption_is_refused_not_crashing(sops, channels) -> None:
    brief = GOOD.replace(b"caption: ", b'caption: "\\ud83c" #', 1)
    with pytest.raises(BriefError) as info:
        parse_brief("surrogat", brief, sops, channels)
    assert any(p.field == "caption" and "surrogate" in p.message for p in info.value.problems)


def test_nested_values_and_field_names_are_checked_too() -> None:
    problems = brief_text_problems({"labels": ["ok", "a\u202eb"], "placements": {"x": "feed\x1b"}, "no\x07te": "x"})
    assert [p.field for p in problems] == ["labels[1]", "placements.x", "(nama kolom)"]
