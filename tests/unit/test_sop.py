"""The SOP model and loader: the four seed SOPs, and every way a SOP file can be wrong."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from humas.exceptions import SopError
from humas.resources import sops_dir
from humas.sop import (
    GATE_STAGES, STAGES, Sop, StandardTime, available_sops, load_sop, load_sops_report, parse_sop,
)

SEED_IDS = ["gunung_mas", "kendal", "singkawang", "yogyakarta"]


def _budgets(sop: Sop) -> list[int | None]:
    return [step.time.minutes for step in sop.steps]


# ------------------------------------------------------------------------------------------ the seed SOPs


def test_all_four_seed_sops_load_sorted_by_id(sops: dict[str, Sop]) -> None:
    assert list(sops) == SEED_IDS
    for sop_id, sop in sops.items():
        assert sop.id == sop_id
        assert Path(sop.path) == sops_dir() / f"{sop_id}.yaml"
        assert sop.dag_id == f"humas_sop_{sop_id}"


def test_singkawang_matches_the_document(sops: dict[str, Sop]) -> None:
    sop = sops["singkawang"]
    assert sop.number == "000.8.3.3/ 10 /IKP-B/2023"
    assert sop.title == "Pembuatan dan Publikasi Konten di Media Sosial Instansi"
    assert sop.effective == "Januari 2023"
    assert sop.records == ("Laporan",)
    assert [step.stage for step in sop.steps] == ["concept", "design", "decision", "upload"]
    assert _budgets(sop) == [30, 180, 15, 15]
    assert sop.steps[0].time.text == "30 (tiga puluh) menit"
    assert sop.steps[0].note == "Konten dapat berupa flyer/infografis"
    assert sop.role(sop.steps[0].actor).name == "Pranata Humas/Sub Koor"
    assert sop.steps[-1].output == "Link postingan di media sosial"
    assert sop.source == "000_2264bd9141ee5658.txt"


def test_kendal_times_before_event_and_flexible(sops: dict[str, Sop]) -> None:
    sop = sops["kendal"]
    assert len(sop.steps) == 5
    first, last = sop.steps[0], sop.steps[-1]
    assert (first.time.kind, first.time.before_event_minutes, first.time.minutes) == ("before_event", 1440, None)
    assert first.time.text == "1 Hari sebelum pelaksanaan"
    assert (last.time.kind, last.time.minutes, last.time.text) == ("flexible", None, "Menyesuaikan")
    assert [step.time.minutes for step in sop.steps[1:4]] == [30, 180, 120]
    assert [step.stage for step in sop.steps] == ["idea_intake", "assignment", "design", "decision", "upload"]
    assert sop.steps[2].deliverables == ("caption", "assets")  # the staff report design, narration and photos
    assert [role.name for role in sop.roles] == ["Staf", "SubKoor PSDK", "Kabid IKP", "Kepala Dinas"]
    assert len(sop.records) == 2


@pytest.mark.parametrize("sop_id", ["yogyakarta", "gunung_mas"])
def test_seven_step_sops_follow_every_stage(sops: dict[str, Sop], sop_id: str) -> None:
    sop = sops[sop_id]
    assert _budgets(sop) == [10, 10, 90, 90, 10, 10, 10]
    assert [step.stage for step in sop.steps] == ["idea_intake", "idea_consideration", "concept", "design",
                                                  "correction", "decision", "upload"]
    assert [step.kind for step in sop.steps[2:4]] == ["work", "work"]
    assert [step.deliverables for step in sop.steps[2:4]] == [("caption",), ("assets",)]
    assert [step.number for step in sop.gates] == [2, 5, 6]


def test_yogyakarta_roles_and_first_actor(sops: dict[str, Sop]) -> None:
    sop = sops["yogyakarta"]
    assert len(sop.roles) == 6
    assert sop.steps[0].actor == "kontributor"
    assert sop.steps[0].activity == "Mengajukan ide konten"
    assert sop.records == ()
    assert sop.steps[-1].actor == "admin_medsos"


def test_gunung_mas_roles(sops: dict[str, Sop]) -> None:
    sop = sops["gunung_mas"]
    assert [role.name for role in sop.roles] == ["Pranata Humas", "Staf", "Kabid PIP"]
    assert sop.number == "000.8.3.3/133/DKIPS/IV/2025"


@pytest.mark.parametrize("sop_id", SEED_IDS)
def test_seed_sop_invariants(sops: dict[str, Sop], sop_id: str) -> None:
    sop = sops[sop_id]
    role_ids = {role.id for role in sop.roles}
    assert all(step.actor in role_ids for step in sop.steps)
    assert [step.stage for step in sop.steps].count("upload") == 1 and sop.steps[-1].stage == "upload"
    assert sop.gates and all(step.stage in GATE_STAGES for step in sop.gates)
    assert sop.assumptions, "every seed SOP writes down how it was read"
    assert sop.approved_by and sop.agency and sop.source


def test_task_ids_are_unique_and_stable(sops: dict[str, Sop]) -> None:
    assert [step.task_id for step in sops["singkawang"].steps] == [
        "step_1_concept", "step_2_design", "step_3_decision", "step_4_upload"]
    assert [step.task_id for step in sops["kendal"].steps] == [
        "step_1_idea_intake", "step_2_assignment", "step_3_design", "step_4_decision", "step_5_upload"]
    for sop in sops.values():
        ids = [step.task_id for step in sop.steps]
        assert len(set(ids)) == len(ids)
        assert all(task_id.replace("_", "").isalnum() and task_id.islower() for task_id in ids)
    assert available_sops() == sops


def test_gate_flags(sops: dict[str, Sop]) -> None:
    steps = sops["singkawang"].steps
    assert [step.is_gate for step in steps] == [False, False, True, False]


@pytest.mark.parametrize(("time", "label"), [
    (StandardTime("30 (tiga puluh) menit", "duration", minutes=30), "30 menit"),
    (StandardTime("3 Jam", "duration", minutes=180), "3 jam"),
    (StandardTime("90 menit", "duration", minutes=90), "1 jam 30 menit"),
    (StandardTime("1 Hari", "duration", minutes=1500), "1 hari 1 jam"),
    (StandardTime("1 Hari sebelum pelaksanaan", "before_event", before_event_minutes=1440), "1 hari sebelum acara"),
    (StandardTime("Menyesuaikan", "flexible"), "menyesuaikan"),
])
def test_standard_time_describe(time: StandardTime, label: str) -> None:
    assert time.describe() == label


@pytest.mark.parametrize("kwargs", [
    {"kind": "duration"}, {"kind": "flexible", "minutes": 5}, {"kind": "before_event", "minutes": 5},
    {"kind": "weekly", "minutes": 5},
])
def test_standard_time_rejects_inconsistent_kind(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        StandardTime("x", **kwargs)


def test_role_lookup(sops: dict[str, Sop]) -> None:
    sop = sops["yogyakarta"]
    assert sop.role("kabid_ikp").name == "Kabid IKP"
    with pytest.raises(KeyError, match="declared roles"):
        sop.role("bupati")


def test_table_markdown_has_header_table_and_assumptions(sops: dict[str, Sop]) -> None:
    text = sops["kendal"].table_markdown()
    assert "| No | Kegiatan | Pelaksana | Kelengkapan | Waktu | Output | Keterangan |" in text
    assert "| 1 | Mendapatkan informasi jadwal kegiatan Bupati" in text
    assert "| SubKoor PSDK |" in text and "| 1 Hari sebelum pelaksanaan |" in text
    assert "**Disahkan oleh:** Plt. Kepala Dinas" in text
    assert "Buku Agenda jadwal kegiatan pimpinan daerah" in text
    assert sops["kendal"].assumptions[0] in text
    assert text.count("\n| ") == 1 + len(sops["kendal"].steps)


# ------------------------------------------------------------------------------------------ malformed files


def _step(number: int, actor: str, stage: str, time: dict[str, Any]) -> dict[str, Any]:
    return {"number": number, "activity": f"Kegiatan {number}", "actor": actor, "stage": stage, "time": time,
            "material": "PC/laptop", "output": f"Hasil {number}", "note": ""}


def _valid() -> dict[str, Any]:
    """A small valid SOP for the agency 'contoh'; each test breaks one thing."""
    return {
        "id": "contoh", "agency": "Dinas Kominfo Kabupaten Contoh", "number": "000/1/2026", "title": "Konten",
        "effective": "Januari 2026", "approved_by": "Kepala Dinas", "source": "contoh.txt", "records": ["Laporan"],
        "roles": [{"id": "staf", "name": "Staf"}, {"id": "kabid", "name": "Kabid"}],
        "steps": [
            _step(1, "staf", "concept", {"text": "30 menit", "minutes": 30}),
            _step(2, "staf", "design", {"text": "3 jam", "minutes": 180}),
            _step(3, "kabid", "decision", {"text": "15 menit", "minutes": 15}),
            _step(4, "staf", "upload", {"text": "Menyesuaikan", "flexible": True}),
        ],
        "assumptions": ["none"],
    }


def _write(folder: Path, data: Any, name: str = "contoh.yaml") -> Path:
    path = folder / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> dict[str, str]:
    with pytest.raises(SopError) as caught:
        load_sop(path)
    assert caught.value.source == str(path)
    assert all(problem.message and problem.fix for problem in caught.value.problems)
    return {problem.field: f"{problem.message} / {problem.fix}" for problem in caught.value.problems}


def test_the_valid_fixture_loads(tmp_path: Path) -> None:
    sop = load_sop(_write(tmp_path, _valid()))
    assert sop.dag_id == "humas_sop_contoh" and sop.path == str(tmp_path / "contoh.yaml")
    assert sop.created == "" and sop.revised == ""


def _break(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets (or, with ``...``, deletes) ``path`` such as ``steps.1.actor``."""
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key: Any = int(last) if isinstance(target, list) else last
        if value is ...:
            del target[key]
        else:
            target[key] = value
    return mutate


MALFORMED = [
    ("missing field", _break("agency", ...), "agency", "missing"),
    ("field of the wrong type", _break("title", 123), "title", "must be text"),
    ("empty required text", _break("approved_by", "  "), "approved_by", "empty"),
    ("bad id", _break("id", "Contoh-1"), "id", "not a valid SOP id"),
    ("records not a list", _break("records", "Laporan"), "records", "must be a list"),
    ("roles missing", _break("roles", ...), "roles", "missing"),
    ("role not snake_case", _break("roles.0.id", "Staf Humas"), "roles[0].id", "snake_case"),
    ("role declared twice", _break("roles.1.id", "staf"), "roles[1].id", "declared twice"),
    ("role without name", _break("roles.1.name", ...), "roles[1].name", "missing"),
    ("unknown role key", _break("roles.0.nama", "Staf"), "roles[0].nama", "'name'"),
    ("steps empty", _break("steps", []), "steps", "empty"),
    ("step not a mapping", _break("steps.0", "Menyusun konsep"), "steps[0]", "must be a mapping"),
    ("undeclared actor", _break("steps.1.actor", "desainer"), "steps[1].actor", "not a declared role"),
    ("unknown stage", _break("steps.1.stage", "desain"), "steps[1].stage", "not a stage"),
    ("number gap", _break("steps.2.number", 4), "steps[2].number", "is 4"),
    ("number not a number", _break("steps.0.number", "satu"), "steps[0].number", "positive whole number"),
    ("activity missing", _break("steps.0.activity", ...), "steps[0].activity", "missing"),
    ("unknown step key (typo)", _break("steps.0.activty", "x"), "steps[0].activty", "'activity'"),
    ("unknown top-level key (typo)", _break("asumptions", []), "asumptions", "'assumptions'"),
    ("no upload step", _break("steps.3.stage", "decision"), "steps", "no upload step"),
    ("upload not last", _break("steps.2.stage", "upload"), "steps[2].stage", "not the last step"),
    ("no design step", _break("steps.1.stage", "concept"), "steps", "no design step"),
    ("no gate before upload", _break("steps.2.stage", "design"), "steps", "no approval gate"),
    ("delivers on a gate", _break("steps.2.delivers", ["caption"]), "steps[2].delivers", "not a list"),
    ("delivers an unknown product", _break("steps.1.delivers", ["video"]), "steps[1].delivers", "not a list"),
    ("delivers as text", _break("steps.1.delivers", "caption"), "steps[1].delivers", "not a list"),
    ("time missing", _break("steps.0.time", ...), "steps[0].time", "missing"),
    ("time as plain text", _break("steps.0.time", "30 menit"), "steps[0].time", "must be a mapping"),
    ("time without a kind", _break("steps.0.time", {"text": "30 menit"}), "steps[0].time", "no time kind"),
    ("time with two kinds", _break("steps.0.time", {"text": "30 menit", "minutes": 30, "flexible": True}),
     "steps[0].time", "2 time kinds"),
    ("time text missing", _break("steps.0.time", {"minutes": 30}), "steps[0].time.text", "missing"),
    ("zero minutes", _break("steps.0.time.minutes", 0), "steps[0].time.minutes", "positive whole number"),
    ("minutes as text", _break("steps.0.time.minutes", "30"), "steps[0].time.minutes", "positive whole number"),
    ("minutes as bool", _break("steps.0.time.minutes", True), "steps[0].time.minutes", "positive whole number"),
    ("negative before_event", _break("steps.0.time", {"text": "1 hari", "before_event_minutes": -1440}),
     "steps[0].time.before_event_minutes", "positive whole number"),
    ("flexible false", _break("steps.3.time.flexible", False), "steps[3].time.flexible", "must be true"),
    ("unknown time key (typo)", _break("steps.0.time.minute", 30), "steps[0].time.minute", "'minutes'"),
]


@pytest.mark.parametrize(("case", "mutate", "field", "words"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_sop_names_the_field(tmp_path: Path, case: str, mutate: Callable[[dict[str, Any]], None],
                                       field: str, words: str) -> None:
    data = _valid()
    mutate(data)
    problems = _problems(_write(tmp_path, data))
    assert field in problems, f"{case}: expected a problem at {field}, got {problems}"
    assert words in problems[field]


def test_two_uploads_flag_the_extra_one(tmp_path: Path) -> None:
    data = _valid()
    data["steps"].append(_step(5, "staf", "upload", {"text": "10 menit", "minutes": 10}))
    assert "not the last step" in _problems(_write(tmp_path, data))["steps[3].stage"]


def test_id_must_equal_the_file_stem(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, _valid(), name="lain.yaml"))
    assert "does not match the file name 'lain'" in problems["id"]


def test_parse_sop_does_not_need_a_file_name() -> None:
    sop = parse_sop(_valid(), "in-memory")
    assert sop.path == "in-memory" and sop.steps[-1].number == 4 and sop.steps[-1].stage == "upload"


@pytest.mark.parametrize(("text", "field"), [
    ("id: contoh\nroles: [\n", "line 3"),
    ("id: contoh\nagency: 'a\n", "line 3"),
    ("id: contoh\ntitle: a\ntitle: b\n", "line 3"),
    ("- id: contoh\n", "(top level)"),
    ("", "(top level)"),
    ("just text\n", "(top level)"),
])
def test_unreadable_yaml_names_file_and_line(tmp_path: Path, text: str, field: str) -> None:
    problems = _problems(_write(tmp_path, text))
    assert list(problems) == [field]


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "contoh.yaml").write_bytes(b"id: \xff\xfe\n")
    assert "cannot be read" in _problems(tmp_path / "contoh.yaml")["(file)"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = _valid()
    del data["agency"]
    data["roles"][1]["id"] = "staf"
    data["steps"][1]["actor"] = "desainer"
    data["steps"][2]["time"] = {"text": "15 menit", "minutes": -15}
    data["steps"][3]["stage"] = "unggah"
    data["typo"] = 1
    problems = _problems(_write(tmp_path, data))
    assert {"agency", "roles[1].id", "steps[1].actor", "steps[2].time.minutes", "steps[3].stage", "typo"} <= set(problems)


def test_an_invalid_stage_does_not_cause_follow_on_flow_errors(tmp_path: Path) -> None:
    data = _valid()
    data["steps"][1]["stage"] = "desain"
    assert list(_problems(_write(tmp_path, data))) == ["steps[1].stage"]


# ------------------------------------------------------------------------------------------ directories


def test_a_fifth_agency_needs_only_a_yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "sops"
    shutil.copytree(sops_dir(), folder)
    fifth = _valid()
    fifth["id"] = "kota_contoh"
    _write(folder, fifth, name="kota_contoh.yaml")
    (folder / "README.txt").write_text("not a SOP", encoding="utf-8")
    loaded, errors = load_sops_report(folder)
    assert errors == []
    assert list(loaded) == sorted([*SEED_IDS, "kota_contoh"])
    assert loaded["kota_contoh"].dag_id == "humas_sop_kota_contoh"
    monkeypatch.setenv("HUMAS_INCLUDE_DIR", str(tmp_path))
    assert list(available_sops()) == list(loaded)


def test_duplicate_ids_in_a_directory(tmp_path: Path) -> None:
    _write(tmp_path, _valid(), name="contoh.yaml")
    _write(tmp_path, _valid(), name="contoh.yml")
    loaded, errors = load_sops_report(tmp_path)
    assert loaded["contoh"].path == str(tmp_path / "contoh.yaml")
    assert [(error.source, [problem.field for problem in error.problems]) for error in errors] == [
        (str(tmp_path / "contoh.yml"), ["id"])]
    assert "already defined" in errors[0].problems[0].message


def test_a_bad_file_in_a_directory_is_named_and_the_others_load(tmp_path: Path) -> None:
    _write(tmp_path, _valid())
    broken = _valid()
    broken["id"] = "rusak"
    broken["steps"][0]["actor"] = "siapa"
    _write(tmp_path, broken, name="rusak.yaml")
    loaded, errors = load_sops_report(tmp_path)
    assert list(loaded) == ["contoh"]
    assert [error.source for error in errors] == [str(tmp_path / "rusak.yaml")]
    assert "rusak.yaml" in str(errors[0]) and "steps[0].actor" in str(errors[0])


@pytest.mark.parametrize("name", ["empty", "nowhere"])
def test_an_empty_or_missing_directory_has_no_sops(tmp_path: Path, name: str) -> None:
    (tmp_path / "empty").mkdir()
    assert load_sops_report(tmp_path / name) == ({}, [])


def test_labels_conditional_gates_and_revise_targets_load(tmp_path: Path) -> None:
    data = _valid()
    data["labels"] = {"isu_strategis": "Konten isu strategis"}
    data["steps"][2]["revise_to"] = 1
    data["steps"].insert(3, {**_step(4, "kabid", "decision", {"text": "15 menit", "minutes": 15}),
                             "when_label": "isu_strategis"})
    data["steps"][4]["number"] = 5
    sop = load_sop(_write(tmp_path, data))
    assert sop.labels == {"isu_strategis": "Konten isu strategis"}
    assert [g.when_label for g in sop.gates] == ["", "isu_strategis"]
    assert sop.revise_target(sop.gates[0]).number == 1          # explicit revise_to
    assert sop.revise_target(sop.gates[1]).stage == "design"   # default: the design step before the gate


@pytest.mark.parametrize(("field", "value", "where"), [
    ("when_label", "isu_strategis", "steps[2].when_label"),   # label not declared
    ("revise_to", 3, "steps[2].revise_to"),                  # not an earlier step
    ("revise_to", "dua", "steps[2].revise_to"),
])
def test_bad_conditions_and_revise_targets_name_the_field(tmp_path: Path, field: str, value: Any, where: str) -> None:
    data = _valid()
    data["steps"][2][field] = value
    assert where in _problems(_write(tmp_path, data))


def test_the_seed_sops_send_a_failed_correction_back_to_the_design(sops: dict[str, Sop]) -> None:
    for sop in sops.values():
        for gate in sop.gates:
            target = sop.revise_target(gate)
            assert target is None or target.stage == "design", (sop.id, gate.task_id)
    assert sops["singkawang"].revise_target(sops["singkawang"].gates[0]).number == 2
