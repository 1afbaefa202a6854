"""The triggers, driven directly (as the triggerer would) against a real S3 server over HTTP."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
import json

import pytest
import yaml

from claims import submit_brief
from humas import layout
from humas_dev.sample import draw_poster

from humas_airflow.hooks import HumasBucketHook
from humas_airflow.triggers import BucketChangeTrigger, InboxDispatchTrigger


@pytest.fixture()
def bucket_conn(monkeypatch, store, s3_server) -> str:
    """The humas_bucket connection, as the stack sets it: an env var with endpoint and path-style extra."""
    conn = {"conn_type": "aws", "login": "testing", "password": "testing",
            "extra": {"endpoint_url": s3_server, "region_name": "us-east-1",
                      "config_kwargs": {"s3": {"addressing_style": "path"}},
                      "service_config": {"s3": {"bucket_name": store.bucket}}}}
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_BUCKET", json.dumps(conn))
    return "humas_bucket"


def first_event(trigger, timeout: float = 20.0) -> dict:
    async def run() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("trigger ended without an event")

    return asyncio.run(asyncio.wait_for(run(), timeout))


def test_bucket_change_trigger_serializes_exactly_its_arguments():
    trigger = BucketChangeTrigger("approvals/a/step_3_decision.json", {"k": "e"}, "humas_bucket", 2.0)
    assert trigger.serialize() == ("humas_airflow.triggers.BucketChangeTrigger",
                                   {"prefix": "approvals/a/step_3_decision.json", "seen": {"k": "e"},
                                    "aws_conn_id": "humas_bucket", "poll_interval": 2.0, "wake_at": None,
                                    "remind": None})


def test_inbox_dispatch_trigger_serializes_exactly_its_arguments():
    assert InboxDispatchTrigger("humas_bucket", "humas_airflow_api", 1.0, 60.0).serialize() == (
        "humas_airflow.triggers.InboxDispatchTrigger", {"aws_conn_id": "humas_bucket",
                                                        "api_conn_id": "humas_airflow_api",
                                                        "poll_interval": 1.0, "max_wait": 60.0})


def test_the_hook_reads_the_bucket_from_the_connection(bucket_conn, store):
    hook_store = HumasBucketHook(bucket_conn).get_store()
    assert hook_store.bucket == store.bucket
    store.put_bytes("probe/one.txt", b"1")
    assert hook_store.get_bytes("probe/one.txt") == b"1"  # over HTTP, with the shared botocore models
    # The caller is named without walking the stack (the provider's way costs a fifth of a step's CPU).
    assert "Caller/HumasBucketHook" in hook_store.client.meta.config.user_agent_extra


def test_the_hooks_client_reads_listing_times_without_dateutil_and_the_same_times(bucket_conn, store,
                                                                                   monkeypatch):
    store.put_bytes("probe/one.txt", b"1")
    hook_store = HumasBucketHook(bucket_conn).get_store()
    expected = [(o.key, o.last_modified) for o in store.list("probe/")]  # a plain boto3 client's parse
    assert hook_store.head("probe/one.txt").last_modified == expected[0][1]  # HTTP-date header: botocore's way

    def no_dateutil(*args, **kwargs):
        raise AssertionError("dateutil parsed a listing's timestamp")

    monkeypatch.setattr("dateutil.parser.parse", no_dateutil)
    assert [(o.key, o.last_modified) for o in hook_store.list("probe/")] == expected


def test_a_flag_that_appears_fires_the_trigger_with_its_etag(bucket_conn, store):
    key = layout.approval_key("item-1", "step_3_decision")
    store.put_bytes(key, b"{}")
    event = first_event(BucketChangeTrigger(key, {}, bucket_conn, 0.05))
    assert event["status"] == "changed" and event["objects"] == {key: store.head(key).etag}


def test_an_unchanged_listing_does_not_fire_but_a_rewritten_flag_does(bucket_conn, store):
    key = layout.approval_key("item-1", "step_3_decision")
    store.put_bytes(key, b'{"decision": "aprove"}')
    seen = {key: store.head(key).etag}

    async def rewrite_later() -> dict:
        task = asyncio.ensure_future(_first(BucketChangeTrigger(key, seen, bucket_conn, 0.05)))
        await asyncio.sleep(0.5)
        assert not task.done()  # the same bad flag is not reported again
        store.put_bytes(key, b'{"decision": "approve"}')
        return await asyncio.wait_for(task, 20)

    event = asyncio.run(rewrite_later())
    assert event["objects"][key] != seen[key]


def test_a_wait_with_a_wake_moment_yields_wake_then_if_nothing_changed(bucket_conn, store):
    key = layout.approval_key("item-1", "step_3_decision")
    soon = (datetime.now(timezone.utc) + timedelta(seconds=0.5)).isoformat()
    assert first_event(BucketChangeTrigger(key, {}, bucket_conn, 0.05, soon)) == {"status": "wake"}
    store.put_bytes(key, b"{}")
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert first_event(BucketChangeTrigger(key, {}, bucket_conn, 0.05, later))["status"] == "changed"


async def _first(trigger) -> dict:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("no event")


def _drop(store, tmp_path, item_id: str, **brief) -> None:
    poster = draw_poster(tmp_path / "poster.jpg")
    store.put_bytes(layout.asset_key(item_id, "poster.jpg"), poster.read_bytes())
    submit_brief(store, item_id, yaml.safe_dump(
        {"title": "t", "caption": "c", "channels": ["x"], "sop": "singkawang", "assets": ["poster.jpg"],
         "submitter": "skw.ayu", **brief}).encode())


def test_the_dispatch_trigger_starts_items_dropped_while_it_watches_and_refuses_bad_briefs(
        bucket_conn, store, tmp_path, airflow_api, sops):
    trigger = InboxDispatchTrigger(bucket_conn, "humas_airflow_api", 0.05, max_wait=8.0)

    async def drop_while_watching() -> dict:
        watching = asyncio.ensure_future(_first(trigger))
        await asyncio.sleep(0.5)
        _drop(store, tmp_path, "item-1")
        await asyncio.sleep(1.0)
        assert not watching.done()  # one watch serves many drops: no gap between dispatcher tasks
        _drop(store, tmp_path, "item-2")
        _drop(store, tmp_path, "bad", channels=["myspace"])
        store.put_bytes(layout.asset_key("item-3", "only-an-asset.jpg"), b"...")  # no brief yet: not ready
        return await asyncio.wait_for(watching, 20)

    event = asyncio.run(drop_while_watching())

    assert event == {"status": "idle", "counts": {"created": 2, "refused": 1}}
    assert set(airflow_api.runs) == {"item__item-1", "item__item-2"}
    assert airflow_api.runs["item__item-1"]["dag_id"] == sops["singkawang"].dag_id
    assert store.get_json(layout.refusal_key("bad"))["problems"]
    assert airflow_api.sign_ins <= 2  # one sign-in per poll that had items to start, not one per item


def test_a_run_that_cannot_be_asked_for_ends_the_watch_with_the_item_named(bucket_conn, store, tmp_path,
                                                                          airflow_api):
    airflow_api.known_dags = set()  # the API answers 404 for the SOP's DAG
    _drop(store, tmp_path, "item-1")

    event = first_event(InboxDispatchTrigger(bucket_conn, "humas_airflow_api", 0.05, max_wait=10.0))

    assert event["status"] == "failed" and list(event["items"]) == ["item-1"]
    assert "404" in event["items"]["item-1"] and event["counts"] == {"failed": 1}


def test_a_bucket_that_stays_unreachable_becomes_an_error_event(monkeypatch):
    conn = {"conn_type": "aws", "login": "x", "password": "x",
            "extra": {"endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"retries": {"max_attempts": 1}},
                      "service_config": {"s3": {"bucket_name": "humas"}}}}
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_BUCKET", json.dumps(conn))
    event = first_event(BucketChangeTrigger("approvals/x/", {}, "humas_bucket", 0.01), timeout=60)
    assert event["status"] == "error" and "Error" in event["message"]
