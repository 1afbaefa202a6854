"""Hostile briefs: each is refused with short problems in Bahasa Indonesia, never another exception,
without expanding in memory."""
from __future__ import annotations

import time
import tracemalloc

import pytest

import brief_corpus
from brief_corpus import GOOD, check_problem_words, corpus, with_field
from humas.brief import MAX_BRIEF_BYTES, parse_brief
from humas.exceptions import BriefError, Problem

ITEM = "2026-11-22-hut-kota"


def _refuse(data: bytes | str, sops, channels) -> list[Problem]:
    """Parse ``data``, which must be refused (a ``BriefError``, nothing else) quickly; return its problems."""
    started = time.monotonic()
    with pytest.raises(BriefError) as info:
        parse_brief(ITEM, data, sops, channels)
    assert time.monotonic() - started < 10
    assert len(str(info.value)) < 6000
    return info.value.problems


def _refuse_measured(data: bytes, sops, channels) -> list[Problem]:
    """``_refuse``, asserting also that parsing stayed small in memory (nothing expanded)."""
    tracemalloc.start()
    try:
        problems = _refuse(data, sops, channels)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, f"{peak} bytes at the peak: the brief expanded"
    return problems


def test_the_good_brief_the_corpus_starts_from_parses(sops, channels) -> None:
    assert parse_brief(ITEM, GOOD, sops, channels).channels == ("instagram", "x")
    assert parse_brief(ITEM, with_field("notes", b"tolong cek logo"), sops, channels).notes == "tolong cek logo"


@pytest.mark.parametrize("name", sorted(corpus()))
def test_every_hostile_brief_is_refused_with_short_bahasa_problems(sops, channels, name: str) -> None:
    check_problem_words(_refuse_measured(corpus()[name], sops, channels))


@pytest.mark.parametrize("field", brief_corpus.FIELDS)
def test_a_5000_digit_number_in_any_field_names_its_line(sops, channels, field: str) -> None:
    (problem,) = _refuse(corpus()[f"huge-number-{field.replace('_', '-')}"], sops, channels)
    assert problem.field.startswith("line ") and "angka sepanjang 5000 karakter" in problem.message
    assert "tanda kutip" in problem.fix


@pytest.mark.parametrize("name", ["laughs-classic", "laughs-9-levels", "laughs-10-levels", "laughs-mapping",
                                  "laughs-in-caption", "alias-of-a-scalar", "merge-key"])
def test_aliases_are_refused_before_anything_expands(sops, channels, name: str) -> None:
    (problem,) = _refuse(corpus()[name], sops, channels)
    assert problem.field.startswith("line ") and "alias" in problem.message and "tanpa & dan *" in problem.fix


@pytest.mark.parametrize("name", ["brackets-20000-open", "brackets-20000-closed", "braces-10000",
                                  "deep-block-mapping", "deep-but-short"])
def test_deep_nesting_is_refused(sops, channels, name: str) -> None:
    (problem,) = _refuse(corpus()[name], sops, channels)
    assert "bertingkat terlalu dalam" in problem.message


@pytest.mark.parametrize("name", ["over-the-cap", "caption-10-mb", "assets-ten-thousand"])
def test_a_brief_over_the_cap_is_refused_unparsed(sops, channels, name: str) -> None:
    assert len(corpus()[name]) > MAX_BRIEF_BYTES
    (problem,) = _refuse(corpus()[name], sops, channels)
    assert problem.field == "brief.yaml" and "64 KiB" in problem.message


def test_exactly_the_cap_is_still_read(sops, channels) -> None:
    padding = MAX_BRIEF_BYTES - len(GOOD) - 3
    brief = parse_brief(ITEM, GOOD + b"# " + b"x" * padding + b"\n", sops, channels)
    assert brief.title == "HUT Kota Singkawang ke-25"


@pytest.mark.parametrize("name", ["binary-garbage", "jpeg-named-brief", "nul-bytes", "latin-1", "lone-surrogate",
                                  "utf-16-without-bom", "control-characters"])
def test_bytes_that_are_not_utf8_text(sops, channels, name: str) -> None:
    (problem,) = _refuse(corpus()[name], sops, channels)
    assert "UTF-8" in problem.message and "editor teks" in problem.fix


@pytest.mark.parametrize("name", ["python-object-tag", "python-apply-tag", "python-name-tag", "custom-tag"])
def test_tags_are_refused_not_run(sops, channels, name: str) -> None:
    (problem,) = _refuse(corpus()[name], sops, channels)
    assert "tag YAML" in problem.message and "tidak diizinkan" in problem.message


@pytest.mark.parametrize("name, field, words", [
    ("placements-list-value", "placements.instagram", "['feed'] bukan penempatan instagram"),
    ("placements-map-value", "placements.instagram", "{'a': 1} bukan penempatan instagram"),
    ("placements-none-value", "placements.instagram", "None bukan penempatan instagram"),
    ("placements-list", "placements", "bukan daftar"),
    ("channels-nested-list", "channels", "saluran tidak dikenal: ['x']"),
    ("channels-of-maps", "channels", "saluran tidak dikenal: {'instagram': 1}"),
    ("assets-of-maps", "assets[0]", "{'a': 1} bukan nama file biasa"),
    ("assets-nested-list", "assets[0]", "['poster.jpg'] bukan nama file biasa"),
    ("list-as-title", "title", "bukan daftar"),
    ("map-as-caption", "caption", "bukan pemetaan"),
    ("date-as-title", "title", "bukan tanggal"),
    ("binary-as-title", "title", "bukan data biner"),
    ("nan", "caption", "bukan angka"),
    ("infinite-float", "title", "bukan angka"),
    ("list-as-sop", "sop", "bukan SOP yang dikenal"),
    ("list-as-fit", "fit", "bukan cara penyesuaian"),
    ("map-as-notes", "notes", "bukan pemetaan"),
    ("list-as-event-date", "event_date", "bukan tanggal"),
    ("map-as-publish-at", "publish_at", "bukan tanggal dan jam"),
    ("bool-as-publish-at", "publish_at", "bukan tanggal dan jam"),
    ("list-as-submitter", "submitter", "belum diisi"),
])
def test_a_value_of_the_wrong_type_is_a_problem_of_its_field(sops, channels, name: str, field: str,
                                                             words: str) -> None:
    (problem,) = _refuse(corpus()[name], sops, channels)
    assert problem.field == field and words in problem.message


def test_thousands_of_bad_values_make_one_short_problem(sops, channels) -> None:
    (problem,) = _refuse(corpus()["channels-ten-thousand"], sops, channels)
    assert problem.field == "channels" and "dan 7995 lainnya" in problem.message
    (problem,) = _refuse(corpus()["unknown-keys-ten-thousand"], sops, channels)
    assert problem.field.endswith("dan 5995 lainnya") and "kolom tidak dikenal" in problem.message


def test_too_many_assets(sops, channels) -> None:
    names = b", ".join(b"p%d.jpg" % i for i in range(21))
    (problem,) = _refuse(with_field("assets", b"[" + names + b"]"), sops, channels)
    assert problem.field == "assets" and "21 file" in problem.message and "20" in problem.fix


def test_a_long_value_is_quoted_short(sops, channels) -> None:
    (problem,) = _refuse(with_field("sop", b"x" * 50_000), sops, channels)
    assert problem.field == "sop" and len(problem.message) < 120 and "..." in problem.message


@pytest.mark.parametrize("text", ["title: " + "9" * 5000, "[" * 20_000, "caption: x\n" * 2, "", "\x00"])
def test_text_given_as_str_is_bounded_the_same_way(sops, channels, text: str) -> None:
    check_problem_words(_refuse(text, sops, channels))
