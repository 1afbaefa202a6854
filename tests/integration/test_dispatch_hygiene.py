"""Intake hygiene over a real S3 server: folders that cannot be items are refused with a reason (never
ignored), and briefs waiting for their files cost nothing per poll."""
from __future__ import annotations

from datetime import timedelta

import pytest

from brief_corpus import GOOD
from claims import submit_brief
from fake_run_starter import FakeRunStarter
from humas import dispatch, layout, status
from humas.store import Store
from humas.submission import claim
from s3_requests import SentRequests

pytestmark = pytest.mark.integration

UNUSABLE = ("x..", "rt sp", "rt-ü", "a" * 81, "-lead")


def _drop_raw(store: Store, folder: str, brief: bytes = GOOD) -> None:
    store.put_bytes(f"inbox/{folder}/poster.jpg", b"\xff\xd8 jpeg", "image/jpeg")
    if layout.is_item_id(folder):
        submit_brief(store, folder, brief)
    else:
        store.put_bytes(layout.folder_brief_key(folder), brief, "application/yaml")


@pytest.fixture()
def dag_ids(sops) -> dict[str, str]:
    return {sop_id: sop.dag_id for sop_id, sop in sops.items()}


def test_folders_that_cannot_be_items_get_a_record_with_a_reason_once(store: Store, sops, channels, dag_ids) -> None:
    for folder in UNUSABLE:
        _drop_raw(store, folder)
    _drop_raw(store, "good-item")
    airflow = FakeRunStarter()
    watch = dispatch.InboxWatch()
    outcomes = dispatch.start_item_runs(store, dispatch.actionable_items(store, sops, channels, watch=watch),
                                        dag_ids, airflow)
    assert outcomes == {**{f: "refused" for f in UNUSABLE}, "good-item": "created"}
    assert airflow.calls == {"item__good-item": 1}  # "x.." never reaches Airflow (it would refuse the run id)
    for folder in UNUSABLE:
        record = store.get_json(layout.unusable_folder_key(folder))
        (problem,) = record["problems"]
        assert problem["field"] == "item" and "tidak bisa dipakai sebagai id item" in problem["message"]
        assert "ganti nama folder" in problem["fix"] and "ditolak" in record["message"]
    assert "spasi" in store.get_json(layout.unusable_folder_key("rt sp"))["problems"][0]["message"]
    assert "'ü'" in store.get_json(layout.unusable_folder_key("rt-ü"))["problems"][0]["message"]
    assert "'..'" in store.get_json(layout.unusable_folder_key("x.."))["problems"][0]["message"]
    # settled: neither this watch nor a fresh one (a restarted dispatcher) records them again
    assert watch.pending_items(store) == [] and dispatch.InboxWatch().pending_items(store) == []
    _drop_raw(store, "rt sp", GOOD + b"notes: baru\n")  # changed: refused again, with the new brief's ETag
    assert dispatch.InboxWatch().pending_items(store) == ["rt sp"]


def test_briefs_waiting_for_assets_cost_nothing_per_poll(store: Store, sops, channels) -> None:
    for n in range(30):
        submit_brief(store, f"wait-{n:02}", GOOD)  # poster.jpg never comes
    watch = dispatch.InboxWatch()
    assert dispatch.actionable_items(store, sops, channels, watch=watch) == []
    with SentRequests(store) as sent:
        assert dispatch.actionable_items(store, sops, channels, watch=watch) == []
    assert len(sent) == 1 and "list-type=2" in sent[0], sent  # one listing of the inbox, no brief read again
    store.put_bytes(layout.asset_key("wait-07", "poster.jpg"), b"\xff\xd8 jpeg", "image/jpeg")
    claim(store, "wait-07", "skw.ayu", GOOD)  # `humas submit` again: the claim now names the poster too
    (decision,) = dispatch.actionable_items(store, sops, channels, watch=watch)
    assert (decision.item_id, decision.action) == ("wait-07", "start")


def test_a_waiting_brief_is_refused_when_its_grace_ends(store: Store, sops, channels) -> None:
    submit_brief(store, "late", GOOD)
    watch = dispatch.InboxWatch()
    assert dispatch.actionable_items(store, sops, channels, watch=watch) == []
    later = status.utcnow() + dispatch.MISSING_ASSET_GRACE + timedelta(seconds=5)
    (decision,) = dispatch.actionable_items(store, sops, channels, now=later, watch=watch)
    assert decision.action == "refuse" and decision.missing_assets == ("poster.jpg",)
