"""Store, item status and the dispatcher's core against a real S3 server over HTTP."""
from __future__ import annotations

import hashlib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from claims import submit_brief
from fake_run_starter import FakeRunStarter
from humas import dispatch, layout, status
from humas.dispatch import MISSING_ASSET_GRACE, RETRY_AFTER, Decision
from humas.sop import Sop
from humas.store import ObjectInfo, Store
from s3_requests import SentRequests

pytestmark = pytest.mark.integration

ITEM = "2026-11-22-hut-kota"


@pytest.fixture(scope="module")
def dag_ids(sops: dict[str, Sop]) -> dict[str, str]:
    return {sop_id: sop.dag_id for sop_id, sop in sops.items()}


def _brief_text(**overrides: Any) -> bytes:
    fields: dict[str, Any] = {"title": "HUT Kota Singkawang ke-25", "caption": "Selamat Hari Jadi! #Singkawang",
                              "channels": ["instagram", "x"], "sop": "singkawang", "assets": ["poster.jpg"],
                              "submitter": "skw.ayu"}
    fields.update(overrides)
    return yaml.safe_dump(fields, allow_unicode=True).encode()


def _drop(store: Store, item_id: str, brief: bytes | None = None, assets: tuple[str, ...] = ("poster.jpg",)) -> None:
    """What staff do: put the brief and the design files into inbox/<item>/."""
    for name in assets:
        store.put_bytes(layout.asset_key(item_id, name), b"\xff\xd8 not really a jpeg " + name.encode(), "image/jpeg")
    if brief is not None:
        submit_brief(store, item_id, brief, "application/yaml")


def _brief_modified(store: Store, item_id: str) -> datetime:
    info = store.head(layout.brief_key(item_id))
    assert info is not None
    return info.last_modified


def _later(minutes: float = 0) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


# =========================================================================================== Store


def test_put_and_get_json_round_trip(store: Store) -> None:
    value = {"judul": "Hari Jadi ke-25 ✓", "n": 3, "list": [1, None, True], "nested": {"a": "b"}}
    store.put_json("pipeline/x/status.json", value)
    assert store.get_json("pipeline/x/status.json") == value
    raw = store.get_bytes("pipeline/x/status.json")
    assert "Hari Jadi ke-25 ✓" in raw.decode()  # readable, not \u-escaped
    meta = store.client.head_object(Bucket=store.bucket, Key="pipeline/x/status.json")
    assert meta["ContentType"] == "application/json"


def test_put_json_writes_datetimes_as_text(store: Store) -> None:
    at = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
    store.put_json("k.json", {"at": at})
    assert store.get_json("k.json") == {"at": str(at)}


def test_missing_keys_read_as_none(store: Store) -> None:
    assert store.get_bytes("inbox/nope/brief.yaml") is None
    assert store.get_json("inbox/nope/brief.yaml") is None
    assert store.head("inbox/nope/brief.yaml") is None
    assert store.exists("inbox/nope/brief.yaml") is False


def test_head_describes_the_object(store: Store) -> None:
    data = b"design bytes"
    before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    store.put_bytes("inbox/a/poster.jpg", data, "image/jpeg", metadata={"uploader": "ayu"})
    info = store.head("inbox/a/poster.jpg")
    assert info is not None
    assert (info.key, info.size, info.etag) == ("inbox/a/poster.jpg", len(data), hashlib.md5(data).hexdigest())
    assert info.last_modified.tzinfo is not None
    assert before <= info.last_modified <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert store.exists("inbox/a/poster.jpg")
    meta = store.client.head_object(Bucket=store.bucket, Key="inbox/a/poster.jpg")
    assert meta["ContentType"] == "image/jpeg" and meta["Metadata"] == {"uploader": "ayu"}


def test_overwrite_changes_the_etag(store: Store) -> None:
    store.put_bytes("k", b"one")
    first = store.head("k")
    store.put_bytes("k", b"two")
    second = store.head("k")
    assert first.etag != second.etag and store.get_bytes("k") == b"two"


def test_list_gives_every_object_under_the_prefix_in_key_order(store: Store) -> None:
    keys = ["inbox/b/poster.jpg", "inbox/a/brief.yaml", "inbox/a/z.jpg", "inbox/a/sub/x.jpg", "inbox/ab/c.jpg",
            "pipeline/a/status.json"]
    for key in keys:
        store.put_bytes(key, key.encode())
    listed = list(store.list("inbox/a/"))
    assert [o.key for o in listed] == ["inbox/a/brief.yaml", "inbox/a/sub/x.jpg", "inbox/a/z.jpg"]
    assert all(isinstance(o, ObjectInfo) and o.size == len(o.key) for o in listed)
    assert listed[0].etag == hashlib.md5(b"inbox/a/brief.yaml").hexdigest()
    assert [o.key for o in store.list("inbox/")] == sorted(k for k in keys if k.startswith("inbox/"))
    assert list(store.list("reports/")) == []


def test_list_and_list_folders_follow_pages(store: Store) -> None:
    # more than one 1000-key page, as a busy inbox or a long event history will have
    folders = [f"inbox/item-{n:04d}/" for n in range(1001)]
    keys = [folder + "brief.yaml" for folder in folders]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: store.put_bytes(key, b"{}"), keys))
    assert [o.key for o in store.list("inbox/")] == keys
    assert store.list_folders("inbox/") == folders


def test_list_folders_gives_the_immediate_sub_prefixes(store: Store) -> None:
    for key in ["inbox/b/brief.yaml", "inbox/a/brief.yaml", "inbox/a/sub/x.jpg", "inbox/stray.jpg",
                "inbox/c/", "approvals/a/g.json"]:
        store.put_bytes(key, b"")
    assert store.list_folders("inbox/") == ["inbox/a/", "inbox/b/", "inbox/c/"]
    assert store.list_folders("inbox/a/") == ["inbox/a/sub/"]
    assert store.list_folders("reports/") == []


def test_put_json_if_absent_second_writer_loses(store: Store) -> None:
    key = layout.dispatch_key("started", ITEM)
    assert store.put_json_if_absent(key, {"run_id": "first"}) is True
    assert store.put_json_if_absent(key, {"run_id": "second"}) is False
    assert store.get_json(key) == {"run_id": "first"}


def test_put_json_if_absent_goes_to_the_server_not_a_local_check(store: Store) -> None:
    # The other writer is a separate client (another worker); the server must refuse the second write.
    key = layout.dispatch_key("started", ITEM)
    store.client.put_object(Bucket=store.bucket, Key=key, Body=b'{"run_id": "other worker"}')
    assert store.put_json_if_absent(key, {"run_id": "mine"}) is False
    assert store.get_json(key) == {"run_id": "other worker"}


def test_presigned_url_serves_the_object_over_http(store: Store) -> None:
    store.put_bytes("pipeline/a/preview.jpg", b"preview bytes", "image/jpeg")
    url = store.presigned_get_url("pipeline/a/preview.jpg", expires_in=60)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"preview bytes"


# =========================================================================================== status


def test_every_state_change_is_recorded_in_order(store: Store) -> None:
    start = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)
    changes = [("received", None), ("in_step", "step_1_concept"), ("sla_missed", "step_1_concept"),
               ("assets_failed", "step_2_design"), ("assets_passed", "step_2_design"),
               ("awaiting_approval", "step_3_decision"), ("approved", "step_3_decision")]
    for n, (state, step) in enumerate(changes):
        status.record_state(store, ITEM, state, step=step, message=f"m{n}", at=start + timedelta(seconds=n))
    events = status.read_events(store, ITEM)
    assert [(e["state"], e["step"], e["message"]) for e in events] == \
        [(s, st, f"m{n}") for n, (s, st) in enumerate(changes)]
    assert [e["label"] for e in events] == [status.STATE_LABELS[s] for s, _ in changes]
    assert all(e["item_id"] == ITEM for e in events)
    current = status.read_status(store, ITEM)
    assert (current["state"], current["step"], current["at"]) == \
        ("approved", "step_3_decision", (start + timedelta(seconds=6)).isoformat())


def test_events_keep_their_time_order_when_written_out_of_order(store: Store) -> None:
    base = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)
    status.note_event(store, ITEM, "sla_missed", at=base + timedelta(minutes=5))
    status.note_event(store, ITEM, "received", at=base)
    assert [e["state"] for e in status.read_events(store, ITEM)] == ["received", "sla_missed"]


def test_rapid_changes_without_explicit_times_are_all_kept_in_order(store: Store) -> None:
    states = ["received", "awaiting_approval", "in_step", "publishing", "published"]
    for state in states:
        status.record_state(store, ITEM, state)
    assert [e["state"] for e in status.read_events(store, ITEM)] == states
    assert status.read_status(store, ITEM)["state"] == "published"


def test_status_keeps_every_link_and_the_latest_details(store: Store) -> None:
    status.record_state(store, ITEM, "assets_failed", details={"links": {"findings": "f.md"}, "n": 1})
    status.record_state(store, ITEM, "awaiting_approval", details={"links": {"preview": "p.jpg"}})
    current = status.read_status(store, ITEM)
    assert current["links"] == {"findings": "f.md", "preview": "p.jpg"}
    assert current["details"] == {"links": {"preview": "p.jpg"}}


def test_note_event_does_not_change_the_current_state(store: Store) -> None:
    status.record_state(store, ITEM, "in_step", step="step_2_design")
    status.note_event(store, ITEM, "sla_missed", step="step_2_design", message="terlambat 5 menit")
    assert status.read_status(store, ITEM)["state"] == "in_step"
    assert [e["state"] for e in status.read_events(store, ITEM)] == ["in_step", "sla_missed"]


def test_unknown_state_is_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown item state 'done'"):
        status.record_state(store, ITEM, "done")
    assert status.read_status(store, ITEM) is None
    assert status.read_events(store, ITEM) == []


def test_items_do_not_see_each_others_events(store: Store) -> None:
    status.record_state(store, "item-a", "received")
    status.record_state(store, "item-ab", "refused")
    assert [e["state"] for e in status.read_events(store, "item-a")] == ["received"]


# =========================================================================================== pending_items


def test_new_item_is_pending(store: Store) -> None:
    _drop(store, ITEM, _brief_text())
    assert dispatch.InboxWatch().pending_items(store) == [ITEM]


def test_pending_items_are_sorted_and_skip_stray_top_level_files(store: Store) -> None:
    for item_id in ["c-item", "a-item", "b-item"]:
        _drop(store, item_id, _brief_text())
    store.put_bytes("inbox/stray.jpg", b"x")
    assert dispatch.InboxWatch().pending_items(store) == ["a-item", "b-item", "c-item"]


def test_empty_inbox_has_nothing_pending(store: Store) -> None:
    assert dispatch.InboxWatch().pending_items(store) == []


def test_started_item_is_not_pending(store: Store) -> None:
    _drop(store, ITEM, _brief_text())
    assert dispatch.record_started(store, ITEM, "humas_sop_singkawang", layout.run_id_for(ITEM)) is True
    assert dispatch.InboxWatch().pending_items(store) == []
    assert dispatch.InboxWatch().pending_items(store, now=_later(60 * 24)) == []


def test_requested_item_is_pending_again_after_retry_after(store: Store, sops, channels, dag_ids) -> None:
    _drop(store, ITEM, _brief_text())
    decision = dispatch.assess_item(store, ITEM, sops, channels)
    dispatch.record_requested(store, decision, dag_ids["singkawang"])
    requested = store.head(layout.dispatch_key("requested", ITEM)).last_modified
    assert dispatch.InboxWatch().pending_items(store) == []
    assert dispatch.InboxWatch().pending_items(store, now=requested + RETRY_AFTER - timedelta(seconds=1)) == []
    assert dispatch.InboxWatch().pending_items(store, now=requested + RETRY_AFTER) == [ITEM]
    # once the run has started, asking again is over for good
    dispatch.record_started(store, ITEM, dag_ids["singkawang"], layout.run_id_for(ITEM))
    assert dispatch.InboxWatch().pending_items(store, now=requested + RETRY_AFTER * 10) == []


def test_rejected_item_is_pending_again_only_when_its_brief_changes(store: Store, sops, channels, dag_ids) -> None:
    _drop(store, ITEM, _brief_text(sop="tidak_ada"))
    decision = dispatch.assess_item(store, ITEM, sops, channels)
    assert decision.action == "refuse"
    assert dispatch.start_item_runs(store, [decision], dag_ids, FakeRunStarter()) == {ITEM: "refused"}
    assert dispatch.InboxWatch().pending_items(store) == []
    assert dispatch.InboxWatch().pending_items(store, now=_later(60)) == []
    _drop(store, ITEM, None, assets=("poster-v2.jpg",))       # another file alone changes nothing
    assert dispatch.InboxWatch().pending_items(store) == []
    submit_brief(store, ITEM, _brief_text(sop="tidak_ada"))  # the same text again: same ETag
    assert dispatch.InboxWatch().pending_items(store) == []
    submit_brief(store, ITEM, _brief_text())   # corrected
    assert dispatch.InboxWatch().pending_items(store) == [ITEM]
    assert dispatch.assess_item(store, ITEM, sops, channels).action == "start"


def test_a_watch_that_finds_nothing_new_lists_only_the_inbox(store: Store, sops, channels, dag_ids) -> None:
    _drop(store, "a-started", _brief_text())
    _drop(store, "b-refused", _brief_text(sop="tidak_ada"))
    watch = dispatch.InboxWatch()
    decisions = dispatch.actionable_items(store, sops, channels, watch=watch)
    dispatch.start_item_runs(store, decisions, dag_ids, FakeRunStarter())
    dispatch.record_started(store, "a-started", dag_ids["singkawang"], layout.run_id_for("a-started"))
    assert watch.pending_items(store) == []  # learns that both are settled

    with SentRequests(store) as sent:
        assert watch.pending_items(store) == []
        _drop(store, "a-started", None, assets=("poster.jpg", "poster-v2.jpg"))  # a started item's files change
        assert watch.pending_items(store) == []
    assert len([url for url in sent if "list-type=2" in url]) == 2  # the inbox, twice: no dispatch/ listing

    _drop(store, "c-new", _brief_text())
    submit_brief(store, "b-refused", _brief_text())  # corrected
    with SentRequests(store) as sent:
        assert watch.pending_items(store) == ["b-refused", "c-new"]
    # the two changed folders' records are looked at by key; dispatch/ (every item ever started) is not listed
    assert not any(f"prefix={layout.DISPATCH.rstrip('/')}" in url for url in sent)
    assert any(layout.dispatch_key("refused", "b-refused") in url for url in sent)


def test_rejected_item_whose_brief_was_deleted_stays_quiet(store: Store, sops, channels, dag_ids) -> None:
    _drop(store, ITEM, _brief_text(title=""))
    dispatch.start_item_runs(store, [dispatch.assess_item(store, ITEM, sops, channels)], dag_ids, FakeRunStarter())
    store.client.delete_object(Bucket=store.bucket, Key=layout.brief_key(ITEM))
    assert dispatch.InboxWatch().pending_items(store) == []


def test_uploading_the_missing_asset_brings_a_rejected_item_back(store: Store, sops, channels, dag_ids) -> None:
    _drop(store, ITEM, _brief_text(assets=["poster.jpg", "story.jpg"]), assets=("poster.jpg",))
    late = _brief_modified(store, ITEM) + MISSING_ASSET_GRACE + timedelta(seconds=1)
    decision = dispatch.assess_item(store, ITEM, sops, channels, now=late)
    assert decision.action == "refuse" and "unggah file itu" in decision.problems[0].fix
    dispatch.start_item_runs(store, [decision], dag_ids, FakeRunStarter())
    _drop(store, ITEM, None, assets=("story.jpg",))  # exactly what the fix says
    assert dispatch.InboxWatch().pending_items(store) == [ITEM]


# =========================================================================================== assess_item


def test_item_without_a_brief_waits(store: Store, sops, channels) -> None:
    _drop(store, ITEM, None)
    decision = dispatch.assess_item(store, ITEM, sops, channels)
    assert (decision.action, decision.reason, decision.brief) == ("wait", "no brief.yaml yet", None)


def test_invalid_brief_is_rejected_with_every_problem(store: Store, sops, channels) -> None:
    _drop(store, ITEM, _brief_text(title="", channels=["tiktok"], fit="stretch"))
    decision = dispatch.assess_item(store, ITEM, sops, channels)
    assert decision.action == "refuse" and decision.brief is None
    assert [p.field for p in decision.problems] == ["channels", "title", "fit"]
    assert all(p.fix for p in decision.problems)
    assert decision.brief_etag == store.head(layout.brief_key(ITEM)).etag
    assert ITEM in decision.reason and "3 masalah" in decision.reason


def test_yaml_that_does_not_parse_is_rejected_naming_the_line(store: Store, sops, channels) -> None:
    _drop(store, ITEM, b"title: HUT\ncaption: [tidak ditutup\n")
    decision = dispatch.assess_item(store, ITEM, sops, channels)
    assert decision.action == "refuse"
    assert decision.problems[0].field.startswith("line ")


def test_missing_asset_waits_within_the_grace_then_is_rejected(store: Store, sops, channels) -> None:
    _drop(store, ITEM, _brief_text(assets=["poster.jpg", "story.jpg"]), assets=("poster.jpg",))
    modified = _brief_modified(store, ITEM)

    waiting = dispatch.assess_item(store, ITEM, sops, channels, now=modified + MISSING_ASSET_GRACE - timedelta(seconds=1))
    assert waiting.action == "wait" and "story.jpg" in waiting.reason and "poster.jpg" not in waiting.reason

    refused = dispatch.assess_item(store, ITEM, sops, channels, now=modified + MISSING_ASSET_GRACE)
    assert refused.action == "refuse"
    (problem,) = refused.problems
    assert problem.field == "assets"
    assert "story.jpg" in problem.message and "poster.jpg" not in problem.message
    assert layout.item_prefix(ITEM) in problem.message and problem.fix
    assert refused.brief_etag == store.head(layout.brief_key(ITEM)).etag


def test_asset_in_a_sub_folder_does_not_count(store: Store, sops, channels) -> None:
    _drop(store, ITEM, _brief_text(), assets=())
    store.put_bytes(f"{layout.item_prefix(ITEM)}final/poster.jpg", b"x")
    store.put_bytes(layout.asset_key(f"{ITEM}-2", "poster.jpg"), b"x")  # another item's file
    assert dispatch.assess_item(store, ITEM, sops, channels).action == "wait"


def test_valid_item_starts(store: Store, sops, channels) -> None:
    text = _brief_text(assets=["poster.jpg", "story.jpg"])
    _drop(store, ITEM, text, assets=("poster.jpg", "story.jpg"))
    decision = dispatch.assess_item(store, ITEM, sops, channels)
    assert decision.action == "start" and decision.problems == ()
    assert decision.brief.sop == "singkawang" and decision.brief.digest == hashlib.sha256(text).hexdigest()
    assert decision.brief_etag == store.head(layout.brief_key(ITEM)).etag


# =========================================================================================== start_item_runs


def test_start_item_runs_records_everything_and_starts_one_run_per_startable_item(store, sops, channels,
                                                                                  dag_ids) -> None:
    _drop(store, "a-good", _brief_text())
    _drop(store, "b-bad", _brief_text(title="", sop="tidak_ada", assets=["../x.jpg"]))
    _drop(store, "c-good", _brief_text(sop="kendal", event_date="2026-12-01", submitter="kdl.dewi"))
    _drop(store, "d-uploading", _brief_text(assets=["poster.jpg", "later.jpg"]))
    decisions = dispatch.actionable_items(store, sops, channels)
    assert [(d.item_id, d.action) for d in decisions] == [("a-good", "start"), ("b-bad", "refuse"),
                                                          ("c-good", "start")]

    airflow = FakeRunStarter()
    outcomes = dispatch.start_item_runs(store, decisions, dag_ids, airflow)

    assert outcomes == {"a-good": "created", "b-bad": "refused", "c-good": "created"}
    assert airflow.runs == {"item__a-good": ("humas_sop_singkawang", {"item_id": "a-good"}),
                            "item__c-good": ("humas_sop_kendal", {"item_id": "c-good"})}
    assert airflow.calls == {"item__a-good": 1, "item__c-good": 1}
    # the refused brief: why, for staff, with every problem
    bad = decisions[1]
    rejection = store.get_json(layout.refusal_key("b-bad"))
    assert [p["field"] for p in rejection["problems"]] == [p.field for p in bad.problems]
    assert {p["field"] for p in rejection["problems"]} == {"title", "sop", "assets[0]"}
    assert all(p["message"] and p["fix"] for p in rejection["problems"])
    assert rejection["brief_etag"] == store.head(layout.brief_key("b-bad")).etag
    assert store.get_json(layout.dispatch_key("refused", "b-bad"))["brief_etag"] == rejection["brief_etag"]
    bad_status = status.read_status(store, "b-bad")
    assert bad_status["state"] == "refused"
    assert bad_status["links"] == {"refusal": layout.refusal_key("b-bad")}
    assert len(bad_status["details"]["problems"]) == 3
    # the started ones: a request record and a "received" status each
    for item_id, sop_id in [("a-good", "singkawang"), ("c-good", "kendal")]:
        requested = store.get_json(layout.dispatch_key("requested", item_id))
        assert requested["dag_id"] == dag_ids[sop_id]
        assert requested["run_id"] == f"item__{item_id}"
        assert requested["brief_digest"] == hashlib.sha256(store.get_bytes(layout.brief_key(item_id))).hexdigest()
        assert status.read_status(store, item_id)["state"] == "received"
        assert [e["state"] for e in status.read_events(store, item_id)] == ["received"]
    assert not store.exists(layout.dispatch_key("requested", "b-bad"))
    assert not store.exists(layout.refusal_key("a-good"))
    # nothing recorded for the item still uploading; only it is pending now
    assert status.read_status(store, "d-uploading") is None
    assert dispatch.InboxWatch().pending_items(store) == ["d-uploading"]


def test_start_item_runs_twice_records_each_run_started_once_and_leaves_nothing_pending(store: Store, sops,
                                                                                         channels, dag_ids) -> None:
    for item_id in ["a-item", "b-item"]:
        _drop(store, item_id, _brief_text())
    decisions = dispatch.actionable_items(store, sops, channels)
    airflow = FakeRunStarter()
    first = dispatch.start_item_runs(store, decisions, dag_ids, airflow)
    second = dispatch.start_item_runs(store, decisions, dag_ids, airflow)  # e.g. a dispatcher retry
    assert first == {"a-item": "created", "b-item": "created"}
    assert second == {"a-item": "exists", "b-item": "exists"}  # the same run ids: no second run
    assert sorted(airflow.runs) == ["item__a-item", "item__b-item"]
    for run_id, (dag_id, conf) in airflow.runs.items():  # recorded by the first call, kept by the second
        assert store.get_json(layout.dispatch_key("started", conf["item_id"]))["run_id"] == run_id
        assert not dispatch.record_started(store, conf["item_id"], dag_id, run_id)
    assert dispatch.InboxWatch().pending_items(store) == []
    assert dispatch.InboxWatch().pending_items(store, now=_later(60)) == []
    assert dispatch.actionable_items(store, sops, channels, now=_later(60)) == []


def test_start_item_runs_ignores_waits(store: Store, dag_ids) -> None:
    airflow = FakeRunStarter()
    assert dispatch.start_item_runs(store, [Decision(ITEM, "wait", "no brief.yaml yet")], dag_ids, airflow) == \
        {ITEM: "wait"}
    assert list(store.list("")) == [] and airflow.calls == {}


def test_record_started_returns_false_for_the_second_caller(store: Store) -> None:
    run_id = layout.run_id_for(ITEM)
    assert dispatch.record_started(store, ITEM, "humas_sop_singkawang", run_id) is True
    assert dispatch.record_started(store, ITEM, "humas_sop_singkawang", run_id) is False
    record = store.get_json(layout.dispatch_key("started", ITEM))
    assert (record["item_id"], record["dag_id"], record["run_id"]) == (ITEM, "humas_sop_singkawang", run_id)
    first_at = record["at"]
    dispatch.record_started(store, ITEM, "other_dag", "other_run")
    assert store.get_json(layout.dispatch_key("started", ITEM))["at"] == first_at  # nothing overwritten


def test_get_bytes_can_read_only_the_start_of_a_large_object(store: Store) -> None:
    store.put_bytes("inbox/a/huge.jpg", b"x" * 5000)
    assert store.get_bytes("inbox/a/huge.jpg", max_bytes=1001) == b"x" * 1001
    assert store.get_bytes("inbox/a/huge.jpg") == b"x" * 5000
    assert store.get_bytes("inbox/a/missing.jpg", max_bytes=10) is None


@pytest.mark.parametrize("submitter", ["Ayu Lestari", "Ayu Lestari (Pranata Humas)", "SKW.AYU", "skw.hendra2"])
def test_a_submitter_who_is_not_a_roster_login_is_refused(store, sops, channels, submitter):
    """Self-approval is refused by identity, so the brief must name the submitter's login, not a spelling."""
    _drop(store, ITEM, _brief_text(submitter=submitter))
    decision = dispatch.assess_item(store, ITEM, sops, channels)
    assert decision.action == "refuse" and [p.field for p in decision.problems] == ["submitter"]
    assert "skw.ayu" in decision.problems[0].fix  # names the logins to choose from


def test_a_large_file_goes_up_in_parts_and_comes_down_to_disk_with_its_digest(store: Store, tmp_path) -> None:
    import hashlib
    import os

    original = tmp_path / "video.mp4"
    original.write_bytes(os.urandom(40 * 1024 * 1024 + 123))   # over the multipart threshold
    store.put_file("pipeline/a/renditions/x/video.mp4", original, "video/mp4", {"sha256": "abc"})

    assert store.head("pipeline/a/renditions/x/video.mp4").etag.endswith("-3")   # three parts
    assert store.metadata("pipeline/a/renditions/x/video.mp4") == {"sha256": "abc"}
    copy = tmp_path / "copy.mp4"
    got = store.download("pipeline/a/renditions/x/video.mp4", copy)
    assert got.sha256 == hashlib.sha256(original.read_bytes()).hexdigest() and got.size == original.stat().st_size
    assert copy.read_bytes() == original.read_bytes()
    assert store.download("pipeline/a/missing.mp4", tmp_path / "none") is None
