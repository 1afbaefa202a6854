"""Starting item runs without a task per item, and the shared bucket poll, over a real S3 server."""
from __future__ import annotations

import asyncio
import json

import pytest
import yaml

from claims import submit_brief
from fake_run_starter import FakeRunStarter
from humas import dispatch, layout
from humas.dispatch import RETRY_AFTER, START_WORKERS, assess_item, item_pending, start_item_runs
from humas.status import read_status, utcnow
from humas.store import Store

from humas_airflow.triggers import BucketChangeTrigger, shared_poller


def _drop(store: Store, item_id: str, channels: list[str] | None = None) -> None:
    store.put_bytes(layout.asset_key(item_id, "poster.jpg"), b"...", "image/jpeg")
    submit_brief(store, item_id, yaml.safe_dump(
        {"title": "t", "caption": "c", "channels": channels or ["x"], "sop": "singkawang",
         "assets": ["poster.jpg"], "submitter": "skw.ayu"}).encode())


@pytest.fixture()
def dag_ids(sops) -> dict[str, str]:
    return {sop_id: sop.dag_id for sop_id, sop in sops.items()}


def test_one_call_starts_every_item_and_refuses_bad_briefs(store: Store, sops, channels, dag_ids) -> None:
    for n in range(30):
        _drop(store, f"item-{n:02d}")
    _drop(store, "bad", channels=["myspace"])
    airflow = FakeRunStarter()
    decisions = dispatch.actionable_items(store, sops, channels)
    outcomes = start_item_runs(store, decisions, dag_ids, airflow)
    assert outcomes == {"bad": "refused", **{f"item-{n:02d}": "created" for n in range(30)}}
    assert set(airflow.runs) == {f"item__item-{n:02d}" for n in range(30)}
    assert airflow.runs["item__item-07"] == (sops["singkawang"].dag_id, {"item_id": "item-07"})
    assert read_status(store, "item-07")["state"] == "received"
    assert dispatch.InboxWatch().pending_items(store) == []  # every item is requested or refused now


def test_asking_again_is_harmless_and_a_failed_request_is_retried(store: Store, sops, channels, dag_ids) -> None:
    _drop(store, "a")
    _drop(store, "b")
    airflow = FakeRunStarter(fail={"item__b"})
    first = start_item_runs(store, dispatch.actionable_items(store, sops, channels), dag_ids, airflow)
    assert first["a"] == "created" and first["b"].startswith("failed: ConnectionError: API server unreachable")
    # the retry rule: a request with no started run is asked again after RETRY_AFTER
    assert dispatch.InboxWatch().pending_items(store) == []
    assert dispatch.InboxWatch().pending_items(store, utcnow() + RETRY_AFTER) == ["b"]
    again = [assess_item(store, "a", sops, channels), assess_item(store, "b", sops, channels)]
    airflow.fail = set()
    assert start_item_runs(store, again, dag_ids, airflow) == {"a": "exists", "b": "created"}
    # Airflow has both runs: the dispatcher recorded them as started, so neither is asked for again
    assert all(store.exists(layout.dispatch_key("started", i)) for i in ("a", "b"))
    assert dispatch.InboxWatch().pending_items(store, utcnow() + RETRY_AFTER) == []


def test_runs_are_started_several_at_once_each_once(store: Store, sops, channels, dag_ids) -> None:
    items = [f"item-{n:02d}" for n in range(3 * START_WORKERS + 1)]
    for item_id in items:
        _drop(store, item_id)
    airflow = FakeRunStarter(meet=START_WORKERS)  # asking one run at a time fails here: the first callers wait
    decisions = dispatch.actionable_items(store, sops, channels)
    outcomes = start_item_runs(store, decisions, dag_ids, airflow)
    assert list(outcomes.items()) == [(i, "created") for i in items]  # in the order of the decisions
    assert airflow.most_inside == START_WORKERS  # several at once, never more than the pool
    assert airflow.calls == {f"item__{i}": 1 for i in items}
    assert all(read_status(store, i)["state"] == "received" for i in items)


def test_one_failing_run_leaves_every_other_started_and_recorded_once(store: Store, sops, channels,
                                                                      dag_ids) -> None:
    items = [f"item-{n:02d}" for n in range(10)]
    for item_id in items:
        _drop(store, item_id)
    _drop(store, "bad", channels=["myspace"])
    airflow = FakeRunStarter(fail={"item__item-04"}, meet=2)
    outcomes = start_item_runs(store, dispatch.actionable_items(store, sops, channels), dag_ids, airflow)
    assert list(outcomes) == ["bad", *items]
    assert outcomes.pop("item-04") == "failed: ConnectionError: API server unreachable"
    assert outcomes == {"bad": "refused", **{i: "created" for i in items if i != "item-04"}}
    assert airflow.calls == {f"item__{i}": 1 for i in items}
    assert set(airflow.runs) == {f"item__{i}" for i in items if i != "item-04"}
    for item_id in items:  # the failed one too: its request record ages out and it is asked again
        assert len(list(store.list(layout.events_prefix(item_id)))) == 1
        assert store.get_json(layout.dispatch_key("requested", item_id))["run_id"] == f"item__{item_id}"
    assert read_status(store, "bad")["state"] == "refused"
    assert not store.exists(layout.dispatch_key("started", "item-04"))
    assert dispatch.InboxWatch().pending_items(store, utcnow() + RETRY_AFTER) == ["item-04"]


def test_item_pending_answers_for_one_item_as_pending_items_does_for_all(store: Store, sops, channels,
                                                                         dag_ids) -> None:
    _drop(store, "new")
    _drop(store, "asked")
    _drop(store, "refused", channels=["myspace"])
    _drop(store, "running")
    start_item_runs(store, [assess_item(store, i, sops, channels) for i in ("asked", "refused", "running")],
                    dag_ids, FakeRunStarter(fail={"item__asked"}))  # asked, but Airflow did not answer
    for now in (utcnow(), utcnow() + RETRY_AFTER):
        assert [i for i in ("asked", "new", "refused", "running") if item_pending(store, i, now)] == \
            dispatch.InboxWatch().pending_items(store, now)
    _drop(store, "refused")  # a fixed brief is picked up again
    assert item_pending(store, "refused")


def test_many_gates_share_one_listing_of_a_real_bucket(monkeypatch, store: Store, s3_server: str) -> None:
    conn = {"conn_type": "aws", "login": "testing", "password": "testing",
            "extra": {"endpoint_url": s3_server, "region_name": "us-east-1",
                      "config_kwargs": {"s3": {"addressing_style": "path"}},
                      "service_config": {"s3": {"bucket_name": store.bucket}}}}
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_BUCKET", json.dumps(conn))
    keys = [layout.approval_key(f"item-{n}", "step_3_decision") for n in range(60)]

    async def first(trigger: BucketChangeTrigger) -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    async def scenario() -> tuple[list[dict], int, list[bool]]:
        waits = [asyncio.ensure_future(first(BucketChangeTrigger(k, {}, "humas_bucket", 5.0))) for k in keys]
        await asyncio.sleep(2.5)
        poller = shared_poller("humas_bucket", keys[0])
        quiet_requests = poller.requests
        await asyncio.to_thread(store.put_bytes, keys[3], b"{}")
        await asyncio.to_thread(store.put_bytes, keys[41], b"{}")
        woken = await asyncio.wait_for(asyncio.gather(waits[3], waits[41]), 10)
        await asyncio.sleep(1.2)
        still = [w.done() for n, w in enumerate(waits) if n not in (3, 41)]
        return woken, quiet_requests, still

    woken, quiet_requests, still = asyncio.run(scenario())
    assert woken == [{"status": "changed", "objects": {keys[3]: store.head(keys[3]).etag}},
                     {"status": "changed", "objects": {keys[41]: store.head(keys[41]).etag}}]
    assert 1 <= quiet_requests <= 4  # 60 waiters, 2.5 s: one listing a second, not 60 requests every 5 s
    assert not any(still)
