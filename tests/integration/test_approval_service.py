"""The approval service's core over a real S3 server: what an approver is shown, who may decide, and that
what it signs is exactly what the gate will accept — and nothing else."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml

from humas import layout
from humas.approval import parse_flag
from humas.approval_service import decide, pending_review
from humas.exceptions import ApprovalFlagError, ApprovalRefused
from humas.review import review_of, sha256
from humas.roster import load_roster
from humas.status import record_state

pytestmark = pytest.mark.integration

ITEM = "svc-item"
KEY = b"s" * 48
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
BRIEF = yaml.safe_dump({"title": "HUT Kota", "caption": "Selamat HUT!", "channels": ["facebook"],
                        "sop": "singkawang", "assets": ["poster.jpg"], "submitter": "skw.ayu"}).encode()


@pytest.fixture()
def waiting(store, sops):
    """An item waiting at Singkawang's decision gate, as the gate leaves it for the service."""
    preview = b"\xff\xd8 preview bytes"
    design = {"review_id": "r1", "preview_sha256": sha256(preview),
              "renditions": [{"channel": "facebook", "key": layout.rendition_key(ITEM, "facebook", "poster.jpg"),
                              "sha256": "ab" * 32}]}
    store.put_bytes(layout.brief_key(ITEM), BRIEF)
    store.put_bytes(layout.preview_key(ITEM), preview, "image/jpeg")
    store.put_json(layout.review_key(ITEM), {"gate": "step_3_decision", "design": design})
    record_state(store, ITEM, "awaiting_approval", step="step_3_decision")
    return review_of(ITEM, BRIEF, design)


def test_the_service_signs_what_the_gate_accepts(store, sops, waiting):
    pending = pending_review(store, ITEM)
    assert pending.review.digest == waiting.digest and pending.decisions == ("approve", "revise", "decline")
    decide(store, pending, "skw.hendra", "approve", waiting.digest, KEY, NOW, "ok")
    sop = sops["singkawang"]
    flag = parse_flag(store.get_bytes(layout.approval_key(ITEM, "step_3_decision")), KEY, item_id=ITEM,
                      step=sop.gates[0], sop=sop, roster=load_roster(sop), submitter="skw.ayu",
                      review_digest=waiting.digest)
    assert (flag.person, flag.decision, flag.role) == ("skw.hendra", "approve", "kepala_bidang")


@pytest.mark.parametrize("person,reason", [("skw.ayu", "mengajukan item ini sendiri"),
                                           ("skw.sari", "bukan Kepala Bidang"),
                                           ("stranger", "tidak terdaftar")])
def test_the_service_refuses_to_sign_for_the_wrong_person(store, waiting, person, reason):
    with pytest.raises(ApprovalRefused, match=reason):
        decide(store, pending_review(store, ITEM), person, "approve", waiting.digest, KEY, NOW)
    assert not store.exists(layout.approval_key(ITEM, "step_3_decision"))


def test_a_decision_on_an_outdated_page_is_refused(store, waiting):
    pending = pending_review(store, ITEM)
    store.put_bytes(layout.brief_key(ITEM), BRIEF.replace(b"Selamat", b"Diubah"))  # edited while the page was open
    with pytest.raises(ApprovalRefused, match="konten berubah"):
        decide(store, pending_review(store, ITEM), "skw.hendra", "approve", pending.review.digest, KEY, NOW)


def test_revise_and_reject_need_a_reason(store, waiting):
    with pytest.raises(ApprovalRefused, match="alasannya"):
        decide(store, pending_review(store, ITEM), "skw.hendra", "revise", waiting.digest, KEY, NOW)


def test_a_preview_swapped_in_the_bucket_is_not_shown_as_the_reviewed_one(store, waiting):
    store.put_bytes(layout.preview_key(ITEM), b"another picture", "image/jpeg")
    with pytest.raises(ApprovalRefused, match="pratinjau"):
        pending_review(store, ITEM)


def test_nothing_is_signed_for_an_item_that_is_not_waiting(store, waiting):
    record_state(store, ITEM, "published", step="step_4_upload")
    with pytest.raises(ApprovalRefused, match="tidak sedang menunggu"):
        pending_review(store, ITEM)


def test_a_flag_signed_for_one_review_is_refused_after_the_design_changes(store, sops, waiting):
    pending = pending_review(store, ITEM)
    decide(store, pending, "skw.hendra", "approve", waiting.digest, KEY, NOW)
    sop = sops["singkawang"]
    revised = review_of(ITEM, BRIEF, {"review_id": "r2", "preview_sha256": "p2", "renditions": []})
    with pytest.raises(ApprovalFlagError, match="review_digest"):
        parse_flag(store.get_bytes(layout.approval_key(ITEM, "step_3_decision")), KEY, item_id=ITEM,
                   step=sop.gates[0], sop=sop, roster=load_roster(sop), submitter="skw.ayu",
                   review_digest=revised.digest)
