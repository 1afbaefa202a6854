"""Approval flags: the round trip ``humas approve`` relies on, and every way a flag is refused."""
from __future__ import annotations

import json

import pytest
import yaml

from humas.approval import ApprovalFlag, make_flag, parse_flag
from humas.brief import Brief, parse_brief
from humas.exceptions import ApprovalFlagError, Problem
from humas.profiles import channel_ids
from humas.sop import Sop, Step, load_all_sops

ITEM = "2026-11-22-hut-kota"
SUBMITTER = "Ayu Lestari"


@pytest.fixture(scope="module")
def sop() -> Sop:
    return load_all_sops()["singkawang"]


@pytest.fixture(scope="module")
def gate(sop: Sop) -> Step:
    (step,) = sop.gates
    assert step.task_id == "step_3_decision" and step.actor == "kepala_bidang"
    return step


@pytest.fixture(scope="module")
def brief(sop: Sop) -> Brief:
    text = yaml.safe_dump({"title": "HUT Kota", "caption": "Selamat!", "channels": ["instagram"], "sop": sop.id,
                           "assets": ["poster.jpg"], "submitter": SUBMITTER})
    return parse_brief(ITEM, text, load_all_sops(), channel_ids())


def _flag(**fields: object) -> bytes:
    """A flag file as an approver would write it; a field given as None is left out."""
    data = {"item_id": ITEM, "gate": "step_3_decision", "decision": "approve", "by": "Pak Hendra",
            "role": "kepala_bidang", "comment": "", "brief_digest": "", "at": "2026-11-22T10:00:00+07:00"}
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def _problems(sop: Sop, gate: Step, brief: Brief, data: bytes) -> list[Problem]:
    with pytest.raises(ApprovalFlagError) as info:
        parse_flag(ITEM, gate, sop, brief, data)
    assert info.value.source == f"item {ITEM} approval flag for step_3_decision"
    assert all(p.message and p.fix for p in info.value.problems)
    return info.value.problems


def _only(problems: list[Problem], field: str) -> Problem:
    assert [p.field for p in problems] == [field], problems
    return problems[0]


# ------------------------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_make_flag_round_trips_through_parse_flag(sop, gate, brief, decision: str) -> None:
    flag = make_flag(ITEM, gate, decision, "Pak Hendra", comment="Logo diperbesar ✓",
                     brief_digest=brief.digest, at="2026-11-22T10:00:00+07:00")
    assert flag == ApprovalFlag(ITEM, "step_3_decision", decision, "Pak Hendra", "kepala_bidang",
                                "Logo diperbesar ✓", brief.digest, "2026-11-22T10:00:00+07:00")
    assert flag.approved is (decision == "approve")
    assert parse_flag(ITEM, gate, sop, brief, flag.to_json()) == flag


def test_flag_json_is_readable_text(gate) -> None:
    data = make_flag(ITEM, gate, "approve", "Pak Hendra", comment="Bagus ✓").to_json()
    assert "Bagus ✓" in data.decode()  # not \u escaped: approvers read these files
    assert json.loads(data)["role"] == "kepala_bidang"


def test_flag_without_a_digest_means_the_current_brief(sop, gate, brief) -> None:
    flag = parse_flag(ITEM, gate, sop, brief, _flag(brief_digest=None, comment=None, at=None))
    assert flag.brief_digest == "" and flag.comment == "" and flag.at == ""
    assert flag.approved


def test_gate_and_item_come_from_the_step_not_the_file(sop, gate, brief) -> None:
    flag = parse_flag(ITEM, gate, sop, brief, _flag())
    assert (flag.item_id, flag.gate) == (ITEM, "step_3_decision")


def test_a_flag_written_for_another_item_or_gate_is_refused(sop, gate, brief) -> None:
    # Yogyakarta's steps 2 and 5 share a role: a copied flag must not pass the other gate.
    problems = _problems(sop, gate, brief, _flag(item_id="other", gate="step_9_x"))
    assert sorted(p.field for p in problems) == ["gate", "item_id"]


def test_by_is_stripped(sop, gate, brief) -> None:
    assert parse_flag(ITEM, gate, sop, brief, _flag(by="  Pak Hendra  ")).by == "Pak Hendra"


# ------------------------------------------------------------------------------------------- refused flags


@pytest.mark.parametrize("decision", ["approved", "yes", "", None, True, ["approve"]])
def test_wrong_decision(sop, gate, brief, decision: object) -> None:
    problem = _only(_problems(sop, gate, brief, _flag(decision=decision)), "decision")  # None: no decision
    assert "approve or reject" in problem.fix


@pytest.mark.parametrize("by", ["", "   ", None])
def test_missing_by(sop, gate, brief, by: object) -> None:
    problem = _only(_problems(sop, gate, brief, _flag(by=by)), "by")  # None: no by at all
    assert "missing" in problem.message


def test_submitter_cannot_approve_their_own_item(sop, gate, brief) -> None:
    problem = _only(_problems(sop, gate, brief, _flag(by=SUBMITTER)), "by")
    assert SUBMITTER in problem.message and "cannot approve" in problem.message
    assert sop.role("kepala_bidang").name in problem.fix


def test_submitter_cannot_reject_either(sop, gate, brief) -> None:
    _only(_problems(sop, gate, brief, _flag(by=SUBMITTER, decision="reject")), "by")


@pytest.mark.parametrize("role", ["admin_media_sosial", "", None, "Kepala Bidang"])
def test_wrong_role(sop, gate, brief, role: object) -> None:
    problem = _only(_problems(sop, gate, brief, _flag(role=role)), "role")  # None: no role at all
    assert "kepala_bidang" in problem.fix and sop.role("kepala_bidang").name in problem.fix


def test_stale_brief_digest(sop, gate, brief) -> None:
    problem = _only(_problems(sop, gate, brief, _flag(brief_digest="0" * 64)), "brief_digest")
    assert "changed" in problem.message and "review the current brief" in problem.fix


def test_several_problems_at_once(sop, gate, brief) -> None:
    problems = _problems(sop, gate, brief, _flag(decision="ok", by=SUBMITTER, role="x", brief_digest="old"))
    assert [p.field for p in problems] == ["decision", "by", "role", "brief_digest"]


@pytest.mark.parametrize("data", [b"", b"approve", b"{decision: approve}", b"\xff\xfe\x00", b'{"a": 1'])
def test_not_json(sop, gate, brief, data: bytes) -> None:
    problem = _only(_problems(sop, gate, brief, data), "(file)")
    assert "not valid JSON" in problem.message and "humas approve" in problem.fix


@pytest.mark.parametrize("data", [b"[]", b'["approve"]', b'"approve"', b"42", b"null"])
def test_not_an_object(sop, gate, brief, data: bytes) -> None:
    problem = _only(_problems(sop, gate, brief, data), "(file)")
    assert "JSON object" in problem.message


def test_error_message_names_item_gate_and_every_problem(sop, gate, brief) -> None:
    with pytest.raises(ApprovalFlagError) as info:
        parse_flag(ITEM, gate, sop, brief, _flag(decision="ok", role="x"))
    message = str(info.value)
    assert ITEM in message and "step_3_decision" in message and "2 problem(s)" in message


def test_each_gate_of_a_seven_step_sop_needs_its_own_role(brief) -> None:
    sop = load_all_sops()["yogyakarta"]
    for step in sop.gates:
        flag = make_flag(ITEM, step, "approve", "Pak Hendra")
        assert parse_flag(ITEM, step, sop, brief, flag.to_json()).role == step.actor
        wrong = next(r.id for r in sop.roles if r.id != step.actor)
        with pytest.raises(ApprovalFlagError) as info:
            parse_flag(ITEM, step, sop, brief, _flag(role=wrong, gate=step.task_id))
        assert [p.field for p in info.value.problems] == ["role"]
