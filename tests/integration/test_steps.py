"""The SOP steps' core (``humas.steps``) over a real S3 server, without Airflow: what each step kind records,
returns and asks its adapter to do (wait, send back, declined), and that a task reads the brief once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import io

import pytest
import yaml
from PIL import Image

from claims import submit_brief
from humas import layout
from humas.approval import make_flag
from humas.exceptions import ItemRefused, StepFailed
from humas.status import read_events, read_status
from humas.steps.base import Declined, ItemStep, SendBack, WaitForChange, WaitUntil
from humas.steps.gate import current_review, decide_gate
from humas.steps.intake import take_in
from humas.steps.upload import publish_item
from humas.steps.work import WORK_WAIT, do_work
from s3_requests import SentRequests

pytestmark = pytest.mark.integration

ITEM = "steps-item"
KEY = "k" * 48
BRIEF = {"title": "HUT Kota", "caption": "Selamat HUT!", "channels": ["facebook"], "sop": "singkawang",
         "assets": ["poster.jpg"], "submitter": "skw.ayu"}


@pytest.fixture(autouse=True)
def approval_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUMAS_APPROVAL_KEY", KEY)


def poster_bytes() -> bytes:
    """A 4:5 JPEG that passes every channel's checks."""
    out = io.BytesIO()
    Image.new("RGB", (1080, 1350), (0, 82, 147)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _drop(store, **changes) -> None:
    store.put_bytes(layout.asset_key(ITEM, "poster.jpg"), poster_bytes(), "image/jpeg")
    submit_brief(store, ITEM, yaml.safe_dump({**BRIEF, **changes}).encode(), "application/yaml")


def _step(store, sops, number: int, earlier: dict | None = None) -> ItemStep:
    sop = sops["singkawang"]
    return ItemStep(store, ITEM, sop, sop.steps[number - 1], earlier=(earlier or {}).get)


def test_intake_returns_the_brief_as_accepted_and_records_the_step(store, sops) -> None:
    _drop(store)
    accepted = take_in(_step(store, sops, 1))
    assert accepted["submitter"] == "skw.ayu" and list(accepted["channels"]) == ["facebook"]
    assert (read_status(store, ITEM)["state"], read_status(store, ITEM)["step"]) == ("in_step", "step_1_concept")


def test_a_brief_broken_by_an_edit_refuses_the_item_with_its_problems(store, sops) -> None:
    _drop(store, channels=["myspace"])
    with pytest.raises(ItemRefused, match="myspace"):
        take_in(_step(store, sops, 1))
    status = read_status(store, ITEM)
    assert status["state"] == "refused" and status["details"]["problems"][0]["field"] == "channels"


def test_the_design_step_returns_its_manifest_and_waits_for_a_correction_after_a_revise(store, sops) -> None:
    _drop(store)
    manifest = do_work(_step(store, sops, 2))
    assert manifest["ok"] and [r["channel"] for r in manifest["renditions"]] == ["facebook"]
    assert read_status(store, ITEM)["state"] == "assets_passed"
    files = {o.key: o.etag for o in store.list(layout.item_prefix(ITEM))}
    store.put_json(layout.revision_key(ITEM), {"assets": files})
    waiting = do_work(_step(store, sops, 2))
    since = datetime.fromisoformat(store.get_json(layout.work_key(ITEM, "step_2_design"))["since"])
    # the design's 3 hours: its wait reminds at 80% of them
    assert waiting == WaitForChange(layout.item_prefix(ITEM), files, WORK_WAIT, since + timedelta(hours=2, minutes=24),
                                   since)


def _at_gate(store, sops) -> tuple[ItemStep, dict]:
    _drop(store)
    design = do_work(_step(store, sops, 2))
    earlier = {"step_1_concept": take_in(_step(store, sops, 1)), "step_2_design": design}
    return _step(store, sops, 3, earlier), earlier


def _flag(store, gate: ItemStep, decision: str, person: str = "skw.hendra", comment: str = "") -> None:
    flag = make_flag(ITEM, gate.step, decision, person, current_review(gate).digest,
                     datetime.now(timezone.utc).isoformat(), KEY.encode(), comment)
    store.put_bytes(layout.approval_key(ITEM, gate.step.task_id), flag.to_json(), "application/json")


def test_a_gate_announces_its_review_and_waits_for_the_flag(store, sops) -> None:
    gate, _ = _at_gate(store, sops)
    outcome = decide_gate(gate)
    assert isinstance(outcome, WaitForChange) and outcome.prefix == layout.approval_key(ITEM, "step_3_decision")
    assert read_status(store, ITEM)["state"] == "awaiting_approval"
    assert store.get_json(layout.review_key(ITEM))["digest"] == current_review(gate).digest


def test_an_approval_is_taken_once_and_the_brief_is_read_once(store, sops) -> None:
    gate, earlier = _at_gate(store, sops)
    decide_gate(gate)
    _flag(store, gate, "approve")
    fresh = _step(store, sops, 3, earlier)
    with SentRequests(store) as sent:
        outcome = decide_gate(fresh)
    assert outcome == {"decision": "approve", "person": "skw.hendra", "review_digest": current_review(fresh).digest}
    assert sum(url.endswith(layout.brief_key(ITEM)) for url in sent) == 1
    assert not store.exists(layout.approval_key(ITEM, "step_3_decision"))  # consumed, archived under decisions/
    assert len(list(store.list(layout.decisions_prefix(ITEM)))) == 1
    # a retry of the same try finds the decision it already took
    assert decide_gate(_step(store, sops, 3, earlier))["decision"] == "approve"


def test_revise_sends_the_run_back_to_the_design_and_decline_ends_it(store, sops) -> None:
    gate, earlier = _at_gate(store, sops)
    decide_gate(gate)
    _flag(store, gate, "revise", comment="Logo terlalu kecil")
    outcome = decide_gate(_step(store, sops, 3, earlier))
    assert isinstance(outcome, SendBack) and outcome.to.task_id == "step_2_design"
    assert "Logo terlalu kecil" in outcome.message
    assert store.get_json(layout.revision_key(ITEM))["comment"] == "Logo terlalu kecil"
    decide_gate(_step(store, sops, 3, earlier))
    _flag(store, gate, "decline", comment="Tidak relevan")
    declined = decide_gate(_step(store, sops, 3, earlier))
    assert isinstance(declined, Declined) and "Tidak relevan" in declined.message
    assert declined.message.startswith("Ditolak oleh Hendra Wijaya")  # the note the run carries in Airflow
    assert read_status(store, ITEM)["state"] == "declined"
    report = store.get_json(layout.report_key(ITEM, "json"))  # the item's report, written as it ends
    assert report["outcome"] == "declined" and [d["decision"] for d in report["decisions"]] == ["revise", "decline"]


def test_a_forged_flag_is_recorded_and_the_gate_waits_on(store, sops) -> None:
    gate, earlier = _at_gate(store, sops)
    decide_gate(gate)
    _flag(store, gate, "approve", person="skw.ayu")  # the submitter approving her own item
    outcome = decide_gate(_step(store, sops, 3, earlier))
    assert isinstance(outcome, WaitForChange) and outcome.seen
    assert read_status(store, ITEM)["state"] == "approval_flag_invalid"


class _Platform:
    channel = "facebook"

    def __init__(self) -> None:
        self.posts: list = []

    def publish(self, post, progress=None):
        from humas.platforms import PublishedPost

        self.posts.append(post)
        return PublishedPost("facebook", "1", "https://facebook.example/p/1", "2026-11-30T01:00:00+00:00")

    def find_existing(self, post, since, progress=None):
        return None

    def quota_until(self, rank=0):
        return None

    def observed_until(self):
        return None

    def shown_pictures(self, post, request, progress):
        return [image.data for image in request.images]   # shows exactly what it was sent


def test_upload_posts_what_was_approved_once_and_records_the_links(store, sops) -> None:
    gate, earlier = _at_gate(store, sops)
    decide_gate(gate)
    _flag(store, gate, "approve")
    earlier["step_3_decision"] = decide_gate(_step(store, sops, 3, earlier))
    platform = _Platform()
    receipt = publish_item(_step(store, sops, 4, earlier), lambda channel: platform)
    assert receipt["complete"] and [p["permalink"] for p in receipt["posts"]] == ["https://facebook.example/p/1"]
    assert publish_item(_step(store, sops, 4, earlier), lambda channel: platform)["complete"]
    assert len(platform.posts) == 1  # the second call found the record: never posted twice
    assert read_status(store, ITEM)["state"] == "published"
    report = store.get_json(layout.report_key(ITEM, "json"))  # the item's report, written as it ends
    assert report["outcome"] == "published" and report["posts"][0]["permalink"] == "https://facebook.example/p/1"


def test_upload_sends_an_edited_brief_back_and_waits_for_publish_at(store, sops) -> None:
    gate, earlier = _at_gate(store, sops)
    decide_gate(gate)
    _flag(store, gate, "approve")
    earlier["step_3_decision"] = decide_gate(_step(store, sops, 3, earlier))
    store.put_bytes(layout.brief_key(ITEM), yaml.safe_dump({**BRIEF, "title": "Diubah"}).encode())
    outcome = publish_item(_step(store, sops, 4, earlier), lambda channel: _Platform())
    assert isinstance(outcome, SendBack) and outcome.to.task_id == "step_3_decision"
    store.put_bytes(layout.brief_key(ITEM), yaml.safe_dump({**BRIEF, "publish_at": "2099-01-01T08:00"}).encode())
    later = publish_item(_step(store, sops, 4, earlier), lambda channel: _Platform())
    assert isinstance(later, WaitUntil) and later.moment.year == 2099


def test_upload_without_an_approval_fails_loudly(store, sops) -> None:
    _drop(store)
    with pytest.raises(StepFailed, match="approved"):
        publish_item(_step(store, sops, 4, {}), lambda channel: _Platform())
    assert [e["state"] for e in read_events(store, ITEM)] == []


def test_a_passed_deadline_is_recorded_once_on_the_open_step_in_wib_and_not_after_the_end(store, sops) -> None:
    from humas import sla

    _drop(store)
    take_in(_step(store, sops, 1))
    deadline = datetime(2026, 11, 30, 11, 28, 41, 489568, tzinfo=timezone.utc)
    message = sla.record_late_step(store, sops["singkawang"], ITEM, 1, deadline)
    assert "lewat pada Senin, 30 November 2026 pukul 18.28 WIB" in message and "Pranata Humas" in message
    assert [e["state"] for e in read_events(store, ITEM)][-1] == "sla_missed"
    decide = _step(store, sops, 3)
    decide.record("declined", "Tidak disetujui")
    assert sla.record_late_step(store, sops["singkawang"], ITEM, 3, deadline) is None


def test_upload_checks_what_a_gate_before_the_design_approved_against_that_gate_s_view(store) -> None:
    # The idea is approved before any design exists (uji_sla: consideration, design, upload): the approval's
    # digest covers the brief alone, and the upload must compare it with the brief alone, then post the design.
    from pathlib import Path

    from humas.sop import load_sop

    sop = load_sop(Path(__file__).parents[1] / "e2e" / "sops" / "uji_sla.yaml")
    _drop(store, sop="singkawang")
    gate = ItemStep(store, ITEM, sop, sop.steps[0])
    earlier = {"step_1_idea_consideration": {"decision": "approve", "review_digest": current_review(gate).digest}}
    earlier["step_2_design"] = do_work(ItemStep(store, ITEM, sop, sop.steps[1], earlier=earlier.get))
    platform = _Platform()
    receipt = publish_item(ItemStep(store, ITEM, sop, sop.steps[2], earlier=earlier.get), lambda channel: platform)
    assert receipt["complete"] and len(platform.posts) == 1


def test_upload_hands_the_platform_urls_pinned_to_the_checked_version(store, sops) -> None:
    store.client.put_bucket_versioning(Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"})
    gate, earlier = _at_gate(store, sops)
    decide_gate(gate)
    _flag(store, gate, "approve")
    earlier["step_3_decision"] = decide_gate(_step(store, sops, 3, earlier))
    platform = _Platform()
    publish_item(_step(store, sops, 4, earlier), lambda channel: platform)
    (post,) = platform.posts
    (image,) = post.images
    key = earlier["step_2_design"]["renditions"][0]["key"]
    assert f"versionId={store.get_pinned(key)[1]}" in image.url
