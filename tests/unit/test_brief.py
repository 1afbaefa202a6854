"""The brief schema, checked against the real SOPs and platform profiles."""
from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
import yaml

from humas.brief import MAX_TITLE, Brief, parse_brief
from humas.exceptions import BriefError, LayoutError, Problem
from humas.resources import include_dir
from humas.sop import Sop

ITEM = "2026-11-22-hut-kota"
WIB = timezone(timedelta(hours=7))


def _fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "title": "Peringatan Hari Jadi Kota Singkawang ke-25",
        "caption": "Selamat Hari Jadi!\n#Singkawang",
        "channels": ["instagram", "facebook", "x"],
        "sop": "singkawang",
        "assets": ["poster.jpg"],
        "submitter": "Ayu Lestari (Pranata Humas)",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not _DROP}


_DROP = object()


def _yaml(**overrides: object) -> str:
    return yaml.safe_dump(_fields(**overrides), allow_unicode=True, sort_keys=False)


def _problems(text: str | bytes, sops: dict[str, Sop], channels: tuple[str, ...]) -> list[Problem]:
    with pytest.raises(BriefError) as info:
        parse_brief(ITEM, text, sops, channels)
    assert info.value.source == f"item {ITEM} brief.yaml"
    return info.value.problems


def _only(problems: list[Problem], field: str) -> Problem:
    assert [p.field for p in problems] == [field], problems
    problem = problems[0]
    assert problem.message and problem.fix, problem
    return problem


# ------------------------------------------------------------------------------------------- valid briefs


def test_the_channels_are_the_profiles_channels(channels: tuple[str, ...]) -> None:
    assert set(channels) == {"instagram", "facebook", "x"}


def test_minimal_brief_parses_with_defaults(sops, channels) -> None:
    text = _yaml()
    brief = parse_brief(ITEM, text, sops, channels)
    assert brief == Brief(
        item_id=ITEM, title="Peringatan Hari Jadi Kota Singkawang ke-25", caption="Selamat Hari Jadi!\n#Singkawang",
        channels=("instagram", "facebook", "x"), sop="singkawang", assets=("poster.jpg",),
        submitter="Ayu Lestari (Pranata Humas)", event_date=None, publish_at=None, placements={}, fit="pad",
        notes="", digest=brief.digest)
    assert len(brief.digest) == 64


def test_full_brief_parses_every_field(sops, channels) -> None:
    text = textwrap.dedent("""\
        title: "  HUT Kendal  "
        caption: |
          Dirgahayu Kabupaten Kendal!
        channels: [instagram, x]
        sop: kendal
        assets: [poster.jpg, story.png]
        submitter: {name: Budi, role: staf}
        event_date: 2026-12-01
        publish_at: 2026-11-30T18:30
        placements: {instagram: story}
        fit: crop
        notes: tolong cek logo
        """)
    brief = parse_brief(ITEM, text, sops, channels)
    assert brief.title == "HUT Kendal"
    assert brief.caption == "Dirgahayu Kabupaten Kendal!"
    assert brief.channels == ("instagram", "x")
    assert brief.sop == "kendal"
    assert brief.assets == ("poster.jpg", "story.png")
    assert brief.submitter == "Budi"
    assert brief.event_date == date(2026, 12, 1)
    assert brief.publish_at == datetime(2026, 11, 30, 18, 30, tzinfo=WIB)
    assert brief.publish_at.utcoffset() == timedelta(hours=7)
    assert brief.placements == {"instagram": "story"}
    assert brief.fit == "crop"
    assert brief.notes == "tolong cek logo"


def test_to_dict_is_plain_data(sops, channels) -> None:
    text = _yaml(sop="kendal", event_date="2026-12-01", publish_at="2026-11-30T18:30",
                 placements={"instagram": "story"})
    data = parse_brief(ITEM, text, sops, channels).to_dict()
    assert data["event_date"] == "2026-12-01"
    assert data["publish_at"] == "2026-11-30T18:30:00+07:00"
    assert data["placements"] == {"instagram": "story"}
    assert data["channels"] == ("instagram", "facebook", "x")
    yaml.safe_dump(data)  # nothing that needs a Python object


@pytest.mark.parametrize("written, expected", [
    ("2026-12-01T09:00", datetime(2026, 12, 1, 9, 0, tzinfo=WIB)),             # a string: naive -> WIB
    ("2026-12-01 09:00:00", datetime(2026, 12, 1, 9, 0, tzinfo=WIB)),          # a YAML timestamp, naive -> WIB
    ("2026-12-01T09:00:00+08:00", datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)),  # an offset is kept
    ("2026-12-01T02:00:00Z", datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)),
    ("2026-12-01", datetime(2026, 12, 1, 0, 0, tzinfo=WIB)),                   # a date: midnight WIB
])
def test_publish_at_without_an_offset_is_wib(sops, channels, written: str, expected: datetime) -> None:
    text = _yaml() + f"publish_at: {written}\n"
    brief = parse_brief(ITEM, text, sops, channels)
    assert brief.publish_at == expected
    assert brief.publish_at.tzinfo is not None


@pytest.mark.parametrize("written", ["2026-12-01", "'2026-12-01'"])
def test_event_date_as_yaml_date_or_string(sops, channels, written: str) -> None:
    brief = parse_brief(ITEM, _yaml() + f"event_date: {written}\n", sops, channels)
    assert brief.event_date == date(2026, 12, 1)


def test_every_real_sop_is_accepted(sops, channels) -> None:
    for sop_id in sops:
        brief = parse_brief(ITEM, _yaml(sop=sop_id, event_date="2026-12-01"), sops, channels)
        assert brief.sop == sop_id


def test_the_sample_brief_parses(sops, channels) -> None:
    text = (include_dir() / "sample" / "hut-singkawang-2026" / "brief.yaml").read_bytes()
    brief = parse_brief("hut-singkawang-2026", text, sops, channels)
    assert brief.sop == "singkawang" and brief.assets == ("poster.jpg",)


def test_bytes_and_text_give_the_same_brief(sops, channels) -> None:
    text = _yaml(title="Hari Santri — Kota")
    assert parse_brief(ITEM, text, sops, channels) == parse_brief(ITEM, text.encode(), sops, channels)


# ------------------------------------------------------------------------------------------- digest


def test_digest_changes_when_the_text_changes(sops, channels) -> None:
    first = parse_brief(ITEM, _yaml(), sops, channels)
    again = parse_brief(ITEM, _yaml(), sops, channels)
    changed = parse_brief(ITEM, _yaml(caption="Selamat Hari Jadi!!"), sops, channels)
    comment_only = parse_brief(ITEM, _yaml() + "# reviewed\n", sops, channels)
    assert first.digest == again.digest
    assert changed.digest != first.digest
    assert comment_only.digest != first.digest  # bound to the file, not to the parsed fields


def test_digest_is_sha256_of_the_file(sops, channels) -> None:
    import hashlib

    text = _yaml()
    assert parse_brief(ITEM, text, sops, channels).digest == hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------------------------- one bad field


def _no_concept(sops: dict[str, Sop]) -> dict[str, Sop]:
    """The SOPs with Singkawang's concept step read as an intake: no step of it delivers the narration."""
    sop = sops["singkawang"]
    steps = tuple(replace(s, stage="idea_intake") if s.stage == "concept" else s for s in sop.steps)
    return {**sops, "singkawang": replace(sop, steps=steps)}


@pytest.mark.parametrize("field", ["title", "caption", "submitter"])
@pytest.mark.parametrize("value", [_DROP, "", "   ", None])
def test_missing_or_empty_text_field(sops, channels, field: str, value: object) -> None:
    problem = _only(_problems(_yaml(**{field: value}), _no_concept(sops), channels), field)
    assert "belum diisi" in problem.message
    assert f"{field}:" in problem.fix


@pytest.mark.parametrize("field", ["title", "caption"])
@pytest.mark.parametrize("value, kind", [(42, "angka"), (["a"], "daftar"), ({"a": 1}, "pemetaan"),
                                         (True, "ya/tidak"), (date(2026, 1, 1), "tanggal")])
def test_text_field_of_another_type_says_what_it_is(sops, channels, field: str, value: object, kind: str) -> None:
    problem = _only(_problems(_yaml(**{field: value}), sops, channels), field)
    assert "harus berupa teks" in problem.message and kind in problem.message
    assert "tanda kutip" in problem.fix


@pytest.mark.parametrize("value", [42, ["a"]])
def test_submitter_that_is_not_text(sops, channels, value: object) -> None:
    assert "belum diisi" in _only(_problems(_yaml(submitter=value), sops, channels), "submitter").message


def test_submitter_mapping_without_a_name(sops, channels) -> None:
    _only(_problems(_yaml(submitter={"role": "staf"}), sops, channels), "submitter")


def test_title_too_long(sops, channels) -> None:
    problem = _only(_problems(_yaml(title="x" * (MAX_TITLE + 1)), sops, channels), "title")
    assert str(MAX_TITLE + 1) in problem.message and str(MAX_TITLE) in problem.message
    assert "persingkat" in problem.fix and str(MAX_TITLE) in problem.fix


def test_title_at_the_limit_is_fine(sops, channels) -> None:
    assert parse_brief(ITEM, _yaml(title="x" * MAX_TITLE), sops, channels).title == "x" * MAX_TITLE


@pytest.mark.parametrize("value", [_DROP, [], "instagram", {"instagram": True}, None])
def test_channels_must_be_a_non_empty_list(sops, channels, value: object) -> None:
    problem = _only(_problems(_yaml(channels=value), sops, channels), "channels")
    assert "daftar saluran yang tidak kosong" in problem.message
    assert all(c in problem.fix for c in channels)


def test_unknown_channel_is_named_with_the_allowed_ones(sops, channels) -> None:
    problem = _only(_problems(_yaml(channels=["instagram", "tiktok"]), sops, channels), "channels")
    assert "tiktok" in problem.message
    assert all(c in problem.fix for c in channels)


def test_channel_listed_twice(sops, channels) -> None:
    problem = _only(_problems(_yaml(channels=["x", "x"]), sops, channels), "channels")
    assert "dua kali" in problem.message


@pytest.mark.parametrize("value", [_DROP, None, "singkawang_lama", "", 3])
def test_unknown_sop_lists_the_known_ones(sops, channels, value: object) -> None:
    problem = _only(_problems(_yaml(sop=value), sops, channels), "sop")
    assert "bukan SOP yang dikenal" in problem.message
    assert all(sop_id in problem.fix for sop_id in sops)


@pytest.mark.parametrize("value", [["singkawang"], {"id": "singkawang"}])
def test_sop_given_as_a_list_or_mapping_is_a_brief_problem(sops, channels, value: object) -> None:
    _only(_problems(_yaml(sop=value), sops, channels), "sop")


@pytest.mark.parametrize("value", ["poster.jpg", 3])
def test_assets_must_be_a_non_empty_list(sops, channels, value: object) -> None:
    problem = _only(_problems(_yaml(assets=value), sops, channels), "assets")
    assert "daftar nama file yang tidak kosong" in problem.message and "poster.jpg" in problem.fix


@pytest.mark.parametrize("sop_id", ["singkawang", "kendal", "yogyakarta", "gunung_mas"])
def test_an_idea_without_narration_or_files_is_a_brief_when_the_sops_work_steps_make_them(sops, channels,
                                                                                         sop_id) -> None:
    brief = parse_brief(ITEM, _yaml(sop=sop_id, caption=_DROP, assets=[], event_date="2026-12-01",
                                    description="Liputan peresmian pasar rakyat"), sops, channels)
    assert (brief.caption, brief.assets, brief.description) == ("", (), "Liputan peresmian pasar rakyat")


def test_a_missing_narration_names_the_field_when_no_step_of_the_sop_writes_it(sops, channels) -> None:
    problem = _only(_problems(_yaml(caption=_DROP, assets=_DROP), _no_concept(sops), channels), "caption")
    assert "belum diisi" in problem.message


@pytest.mark.parametrize("value, what", [(["a"], "bukan daftar"), ("x" * 2001, "2001 karakter")])
def test_a_description_must_be_short_text(sops, channels, value: object, what: str) -> None:
    problem = _only(_problems(_yaml(description=value), sops, channels), "description")
    assert problem.message.startswith("harus berupa teks") or what in problem.message


@pytest.mark.parametrize("index, bad", [(0, "../poster.jpg"), (1, "a/b.jpg"), (1, "brief.yaml"), (0, "..")])
def test_asset_that_is_not_a_plain_file_name_names_its_index(sops, channels, index: int, bad: str) -> None:
    assets = ["poster.jpg", "story.jpg"]
    assets[index] = bad
    problem = _only(_problems(_yaml(assets=assets), sops, channels), f"assets[{index}]")
    assert repr(bad) in problem.message and "nama file saja" in problem.fix


def test_asset_listed_twice(sops, channels) -> None:
    problem = _only(_problems(_yaml(assets=["a.jpg", "a.jpg"]), sops, channels), "assets")
    assert "dua kali" in problem.message


@pytest.mark.parametrize("value", ["1 Desember 2026", "2026-13-01", "besok", True])
def test_event_date_that_is_not_a_date(sops, channels, value: object) -> None:
    problem = _only(_problems(_yaml(event_date=value), sops, channels), "event_date")
    assert "YYYY-MM-DD" in problem.fix


@pytest.mark.parametrize("value", ["jam 9 pagi", "2026-12-01T25:00", "2026-12-01 9 pagi"])
def test_publish_at_that_is_not_a_moment(sops, channels, value: str) -> None:
    problem = _only(_problems(_yaml(publish_at=value), sops, channels), "publish_at")
    assert repr(value) in problem.message and "WIB" in problem.fix


@pytest.mark.parametrize("value", [["instagram"], "story"])
def test_placements_must_be_a_mapping(sops, channels, value: object) -> None:
    problem = _only(_problems(_yaml(placements=value), sops, channels), "placements")
    assert "instagram: story" in problem.fix


def test_placement_for_a_channel_not_in_channels(sops, channels) -> None:
    problem = _only(_problems(_yaml(channels=["x"], placements={"instagram": "story"}), sops, channels),
                    "placements")
    assert "instagram" in problem.message


@pytest.mark.parametrize("value", ["stretch", "", "PAD"])
def test_fit_must_be_pad_or_crop(sops, channels, value: str) -> None:
    problem = _only(_problems(_yaml(fit=value), sops, channels), "fit")
    assert "pad" in problem.fix and "crop" in problem.fix


def test_unknown_field_is_named_with_the_allowed_ones(sops, channels) -> None:
    problem = _only(_problems(_yaml(judul="typo", hashtag="#x"), sops, channels), "hashtag, judul")
    assert "tidak dikenal" in problem.message
    for allowed in ("title", "caption", "channels", "sop", "assets", "submitter", "event_date", "publish_at"):
        assert allowed in problem.fix


# ------------------------------------------------------------------------------------------- SOP needs


def test_kendal_requires_an_event_date(sops, channels) -> None:
    problem = _only(_problems(_yaml(sop="kendal"), sops, channels), "event_date")
    assert "kendal" in problem.message and "wajib" in problem.message
    assert "event_date: YYYY-MM-DD" in problem.fix


def test_kendal_with_an_event_date_parses(sops, channels) -> None:
    assert parse_brief(ITEM, _yaml(sop="kendal", event_date="2026-12-01"), sops, channels).event_date


@pytest.mark.parametrize("sop_id", ["singkawang", "gunung_mas", "yogyakarta"])
def test_sops_without_a_before_event_step_need_no_event_date(sops, channels, sop_id: str) -> None:
    assert not any(s.time.kind == "before_event" for s in sops[sop_id].steps)
    assert parse_brief(ITEM, _yaml(sop=sop_id), sops, channels).event_date is None


# ------------------------------------------------------------------------------------------- many at once


def test_every_problem_is_reported_at_once(sops, channels) -> None:
    text = _yaml(title="", channels=["tiktok"], sop="nope", assets=["../x.jpg"], submitter=_DROP,
                 event_date="besok", fit="stretch", warna="merah")
    problems = _problems(text, sops, channels)
    fields = {p.field for p in problems}
    assert fields == {"warna", "title", "channels", "sop", "assets[0]", "submitter", "event_date", "fit"}
    assert all(p.message and p.fix for p in problems)


def test_error_message_lists_every_problem(sops, channels) -> None:
    with pytest.raises(BriefError) as info:
        parse_brief(ITEM, _yaml(title="", fit="stretch"), sops, channels)
    message = str(info.value)
    assert f"item {ITEM} brief.yaml: 2 problem(s)" in message
    assert "title:" in message and "fit:" in message and "(fix:" in message


# ------------------------------------------------------------------------------------------- not a brief at all


def test_yaml_syntax_error_names_the_line(sops, channels) -> None:
    text = "title: HUT\ncaption: ok\nchannels: [instagram\nsop: singkawang\n"
    problems = _problems(text, sops, channels)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.field.startswith("line ")
    assert int(problem.field.split()[1]) in (3, 4)
    assert "bukan YAML yang benar" in problem.message and "penulisan YAML" in problem.fix


def test_bad_indentation_names_its_line(sops, channels) -> None:
    text = "title: HUT\ncaption: ok\n  sop: singkawang\n"
    assert _problems(text, sops, channels)[0].field == "line 3"


@pytest.mark.parametrize("text", ["", "just a sentence", "- a\n- b\n", "42", b""])
def test_top_level_must_be_a_mapping(sops, channels, text: str | bytes) -> None:
    problem = _only(_problems(text, sops, channels), "(top level)")
    assert "pemetaan kolom" in problem.message and "include/sample/" in problem.fix


def test_invalid_item_id_is_a_layout_error(sops, channels) -> None:
    with pytest.raises(LayoutError):
        parse_brief("../x", _yaml(), sops, channels)



@pytest.mark.parametrize("line, field", [("event_date: 2026-13-01", "event_date"),
                                         ("event_date: 2026-02-30", "event_date"),
                                         ("publish_at: 2026-02-30 10:00:00", "publish_at")])
def test_unquoted_impossible_date_is_a_brief_problem(sops, channels, line: str, field: str) -> None:
    problems = _problems(_yaml() + line + "\n", sops, channels)
    # staff must be told where: the field, or at least the line
    assert any(field in p.field or field in p.message or p.field.startswith("line ") for p in problems), problems


def test_a_field_written_twice_is_reported(sops, channels) -> None:
    text = _yaml() + "caption: versi kedua\n"
    problems = _problems(text, sops, channels)
    assert any("caption" in p.field or "caption" in p.message for p in problems)


def test_a_placement_the_channel_does_not_have_is_refused_with_the_ones_it_has(sops, channels) -> None:
    problem = _only(_problems(_yaml(channels=["instagram"], placements={"instagram": "igtv"}), sops, channels),
                    "placements.instagram")
    assert "feed" in problem.fix and "story" in problem.fix


# ------------------------------------------------------------------------------------------- labels


def _with_labels(sops, labels: dict[str, str] | None) -> dict[str, object]:
    """The real SOPs, with singkawang standing in for one that declares ``labels``."""
    from types import SimpleNamespace

    return {**sops, "singkawang": SimpleNamespace(steps=sops["singkawang"].steps, labels=labels)}


LABELS = {"isu_strategis": "Isu strategis: Kepala Dinas ikut memutuskan", "hoaks": "Klarifikasi hoaks"}


def test_labels_declared_by_the_sop_are_kept_in_order(sops, channels) -> None:
    brief = parse_brief(ITEM, _yaml(labels=["hoaks", "isu_strategis"]), _with_labels(sops, LABELS), channels)
    assert brief.labels == ("hoaks", "isu_strategis")
    assert brief.to_dict()["labels"] == ("hoaks", "isu_strategis")


def test_no_labels_is_the_default(sops, channels) -> None:
    brief = parse_brief(ITEM, _yaml(), _with_labels(sops, LABELS), channels)
    assert brief.labels == () and brief.to_dict()["labels"] == ()
    assert parse_brief(ITEM, _yaml(labels=None), sops, channels).labels == ()


@pytest.mark.parametrize("value", [["rahasia"], ["isu_strategis", "rahasia"], [["isu_strategis"]], [{"a": 1}], [7]])
def test_an_undeclared_label_lists_the_declared_ones(sops, channels, value: object) -> None:
    problem = _only(_problems(_yaml(labels=value), _with_labels(sops, LABELS), channels), "labels")
    assert "label tidak dikenal" in problem.message
    assert "isu_strategis" in problem.fix and "hoaks" in problem.fix and "singkawang" in problem.fix


@pytest.mark.parametrize("declared", [None, {}])
def test_a_label_for_a_sop_without_labels(sops, channels, declared: dict | None) -> None:
    problem = _only(_problems(_yaml(labels=["isu_strategis"]), _with_labels(sops, declared), channels), "labels")
    assert "isu_strategis" in problem.message and "tidak punya label" in problem.fix


@pytest.mark.parametrize("value", ["isu_strategis", {"isu_strategis": True}, 3])
def test_labels_must_be_a_list(sops, channels, value: object) -> None:
    problem = _only(_problems(_yaml(labels=value), _with_labels(sops, LABELS), channels), "labels")
    assert "harus berupa daftar label" in problem.message and "labels: [isu_strategis]" in problem.fix


def test_a_label_listed_twice(sops, channels) -> None:
    problem = _only(_problems(_yaml(labels=["hoaks", "hoaks"]), _with_labels(sops, LABELS), channels), "labels")
    assert "dua kali" in problem.message


def test_labels_with_an_unknown_sop_report_only_the_sop(sops, channels) -> None:
    _only(_problems(_yaml(sop="tidak_ada", labels=["isu_strategis"]), _with_labels(sops, LABELS), channels), "sop")
