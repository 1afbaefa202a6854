"""Approval flags: a genuine decision is accepted; every spoof in the corpus is refused with a reason."""
from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from humas.approval import ApprovalFlag, decider_problems, decisions_for, make_flag, parse_flag, signing_key
from humas.exceptions import ApprovalFlagError, HumasError
from humas.review import review_of
from humas.roster import load_roster
from humas.sop import Sop, Step

ITEM = "2026-11-22-hut-kota"
SUBMITTER = "skw.ayu"
APPROVER = "skw.hendra"      # Kepala Bidang in include/rosters/singkawang.yaml
KEY = b"k" * 48
DIGEST = review_of(ITEM, b"title: HUT\n", {"review_id": "r1", "preview_sha256": "p", "renditions": []}).digest


@pytest.fixture(scope="module")
def sop(sops) -> Sop:
    return sops["singkawang"]


@pytest.fixture(scope="module")
def gate(sop: Sop) -> Step:
    (step,) = sop.gates
    assert step.task_id == "step_3_decision" and step.actor == "kepala_bidang"
    return step


@pytest.fixture(scope="module")
def roster(sop: Sop):
    return load_roster(sop)


def _genuine(gate: Step, **changes: str) -> ApprovalFlag:
    flag = make_flag(ITEM, gate, "approve", APPROVER, DIGEST, "2026-11-22T10:00:00+00:00", KEY, "ok")
    return replace(flag, **changes) if changes else flag


def _resign(flag: ApprovalFlag, key: bytes = KEY) -> ApprovalFlag:
    """The same fields signed again, as someone holding ``key`` would."""
    fields = {k: v for k, v in asdict(flag).items() if k != "signature"}
    return make_flag(fields["item_id"], _Gate(fields["gate"], fields["role"]), fields["decision"], fields["person"],
                     fields["review_digest"], fields["at"], key, fields["comment"])


class _Gate:
    """Just what make_flag reads from a step: lets a test sign a flag for any gate and role."""

    def __init__(self, task_id: str, actor: str) -> None:
        self.task_id, self.actor = task_id, actor


def _refusal(data: bytes, sop: Sop, gate: Step, roster, *, item_id: str = ITEM, submitter: str = SUBMITTER,
             digest: str = DIGEST) -> list:
    with pytest.raises(ApprovalFlagError) as info:
        parse_flag(data, KEY, item_id=item_id, step=gate, sop=sop, roster=roster, submitter=submitter,
                   review_digest=digest)
    assert info.value.problems and all(p.message and p.fix for p in info.value.problems)
    assert len(str(info.value)) < 2000  # a hostile flag never becomes a huge message
    return info.value.problems


def test_a_genuine_flag_is_accepted(sop, gate, roster):
    flag = _genuine(gate)
    accepted = parse_flag(flag.to_json(), KEY, item_id=ITEM, step=gate, sop=sop, roster=roster,
                          submitter=SUBMITTER, review_digest=DIGEST)
    assert accepted == flag and accepted.approved


def _spoof_corpus(gate: Step) -> dict[str, bytes]:
    genuine = _genuine(gate)
    raw = asdict(genuine)
    corpus = {
        # identity and role
        "not in the roster": _resign(replace(genuine, person="pak.hendra")).to_json(),
        "wrong role holder": _resign(replace(genuine, person="skw.sari")).to_json(),
        "role field claims the gate's role for someone else": _resign(replace(genuine, person="skw.rizki")).to_json(),
        "role field names another role": _resign(replace(genuine, role="admin_media_sosial")).to_json(),
        "self-approval by the submitter": _resign(replace(genuine, person=SUBMITTER)).to_json(),
        "self-approval, name spelled out": _resign(replace(genuine, person="Ayu Lestari")).to_json(),
        "self-approval, name with role": _resign(replace(genuine, person="Ayu Lestari (Pranata Humas)")).to_json(),
        "self-approval, different case": _resign(replace(genuine, person="SKW.AYU")).to_json(),
        # binding
        "stale digest": _resign(replace(genuine, review_digest="0" * 64)).to_json(),
        "empty digest": _resign(replace(genuine, review_digest="")).to_json(),
        "replay to another item": _resign(replace(genuine, item_id="other-item")).to_json(),
        "replay to another gate": _resign(replace(genuine, gate="step_2_design")).to_json(),
        "unknown decision": _resign(replace(genuine, decision="yes")).to_json(),
        # forgery
        "forged signature": replace(genuine, signature="ab" * 32).to_json(),
        "no signature": replace(genuine, signature="").to_json(),
        "signed with another key": _resign(genuine, b"x" * 48).to_json(),
        "field edited after signing": replace(genuine, comment="changed").to_json(),
        "person edited after signing": replace(genuine, person="skw.sari").to_json(),
        "digest edited after signing": replace(genuine, review_digest="1" * 64).to_json(),
        # shape
        "null digest": json.dumps({**raw, "review_digest": None}).encode(),
        "extra field": json.dumps({**raw, "approved": True}).encode(),
        "number as person": json.dumps({**raw, "person": 7}).encode(),
        "not JSON": b"approve please",
        "not UTF-8": b"\xff\xfe\x00{",
        "empty file": b"",
        "JSON list": b"[1, 2, 3]",
        "JSON string": b'"approve"',
        "deeply nested": b"[" * 20_000 + b"]" * 20_000,
        "nested within the size cap": b"[" * 8_000 + b"]" * 8_000,
        "huge": json.dumps({**raw, "comment": "x" * 1_000_000}).encode(),
        "huge number": json.dumps(raw).replace('"ok"', "9" * 5000).encode(),
    }
    for name in ("item_id", "gate", "decision", "person", "role", "comment", "review_digest", "at", "signature"):
        corpus[f"missing {name}"] = json.dumps({k: v for k, v in raw.items() if k != name}).encode()
    return corpus


def test_every_spoof_in_the_corpus_is_refused_with_a_reason(sop, gate, roster):
    corpus = _spoof_corpus(gate)
    refused = {name: _refusal(data, sop, gate, roster) for name, data in corpus.items()}
    assert len(refused) == len(corpus) >= 40


@pytest.mark.parametrize("name,field", [("forged signature", "signature"), ("stale digest", "review_digest"),
                                        ("self-approval by the submitter", "person"),
                                        ("wrong role holder", "person"), ("replay to another gate", "gate"),
                                        ("replay to another item", "item_id"), ("missing review_digest", "review_digest")])
def test_the_reason_names_the_field(sop, gate, roster, name, field):
    problems = _refusal(_spoof_corpus(gate)[name], sop, gate, roster)
    assert field in [p.field for p in problems] or any(field in p.field for p in problems)


def test_a_flag_for_another_item_is_refused_there_too(sop, gate, roster):
    _refusal(_genuine(gate).to_json(), sop, gate, roster, item_id="other-item")


def test_revise_is_offered_only_after_a_design_step(sops):
    yogya = sops["yogyakarta"]
    consider, correct, decide = yogya.gates
    assert decisions_for(yogya, consider) == ("approve", "decline")  # Terima / Tolak, before any design
    assert decisions_for(yogya, correct) == decisions_for(yogya, decide) == ("approve", "revise", "decline")


def test_deciders_are_checked_by_roster_identity(sop, gate, roster):
    assert decider_problems(APPROVER, roster, sop, gate, SUBMITTER) == []
    assert decider_problems(APPROVER, roster, sop, gate, APPROVER)[0].field == "person"  # own item
    assert "bukan Kepala Bidang" in decider_problems("skw.sari", roster, sop, gate, SUBMITTER)[0].message


def test_the_signing_key_must_be_configured():
    with pytest.raises(HumasError, match="HUMAS_APPROVAL_KEY"):
        signing_key({})
    with pytest.raises(HumasError):
        signing_key({"HUMAS_APPROVAL_KEY": "short"})
    assert signing_key({"HUMAS_APPROVAL_KEY": "s" * 40}) == b"s" * 40
