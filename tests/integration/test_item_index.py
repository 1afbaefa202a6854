"""The item index kept in the bucket, over a real S3 server: a new API server's index starts from one read of the
snapshot and catches up in the background; a snapshot that is not one costs only a full read; Airflow's API
server lifespan fills the index before any page is asked for."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from typing import Callable

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from humas import layout
from humas.board import ItemIndex
from humas.status import record_state

pytestmark = pytest.mark.integration
KEY = layout.ITEM_INDEX_KEY


def _waiting(store, item_id: str, sop: str = "singkawang", submitter: str = "skw.ayu") -> None:
    store.put_bytes(layout.brief_key(item_id), yaml.safe_dump(
        {"title": f"Judul {item_id}", "caption": "Teks", "channels": ["facebook"], "sop": sop,
         "assets": ["poster.jpg"], "submitter": submitter, "event_date": date(2026, 12, 31)}).encode())
    record_state(store, item_id, "awaiting_approval", step="step_3_decision")


def _until(check: Callable[[], bool], limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _requests(s3_client) -> list[tuple[str, str | None]]:
    """The S3 operations the client makes from now on, with their keys."""
    made: list[tuple[str, str | None]] = []
    s3_client.meta.events.register("before-parameter-build.s3.*",
                                    lambda model, params, **_: made.append((model.name, params.get("Key"))))
    return made


def test_a_new_index_starts_from_the_kept_snapshot_and_catches_up_in_the_background(store, s3_client):
    _waiting(store, "snap-a")
    _waiting(store, "snap-b", "kendal", "kdl.dewi")
    first = ItemIndex(snapshot_key=KEY)
    assert sorted(r.item_id for r in first.records(store)) == ["snap-a", "snap-b"]
    assert store.exists(KEY)  # kept after the refresh that filled it
    record_state(store, "snap-a", "approved", step="step_3_decision")

    made = _requests(s3_client)
    restarted = ItemIndex(snapshot_key=KEY)  # a new API server process
    rows = {r.item_id: r for r in restarted.records(store)}
    assert made[0] == ("GetObject", KEY)  # the snapshot; the catch-up runs in the background
    assert rows["snap-a"].status["state"] == "awaiting_approval" and rows["snap-b"].title == "Judul snap-b"
    assert rows["snap-b"].event_date is not None and restarted.as_of == first.as_of
    assert _until(lambda: restarted.known("snap-a").status["state"] == "approved")
    assert restarted.as_of > first.as_of


def test_a_snapshot_that_is_not_one_costs_only_a_full_read(store):
    _waiting(store, "bad-snap")
    store.put_bytes(KEY, b"\x1f\x8bnot gzip at all")
    assert [r.item_id for r in ItemIndex(snapshot_key=KEY).records(store)] == ["bad-snap"]
    assert [r.item_id for r in ItemIndex(snapshot_key=KEY).records(store)] == ["bad-snap"]  # rewritten, readable


def test_a_brief_that_would_break_a_yaml_reader_does_not_stop_the_index(store):
    _waiting(store, "fine")
    store.put_bytes(layout.brief_key("hostile"), b"title: " + b"[" * 20000 + b"]" * 20000)
    record_state(store, "hostile", "refused", message="brief tidak valid")
    rows = {r.item_id: r for r in ItemIndex().records(store)}
    assert set(rows) == {"fine", "hostile"} and rows["hostile"].title == "hostile"


def test_the_snapshot_is_rewritten_only_when_the_items_changed(store, s3_client):
    _waiting(store, "same")
    index = ItemIndex(snapshot_key=KEY, max_age=timedelta(0))
    index.records(store)
    made = _requests(s3_client)
    index._refresh(store)
    record_state(store, "same", "approved", step="step_3_decision")
    index._refresh(store)
    index._refresh(store)
    assert made.count(("PutObject", KEY)) == 1


def test_airflows_api_server_fills_the_index_at_start_before_any_page(store, monkeypatch):
    from airflow.api_fastapi.app import lifespan  # what `airflow api-server` runs its app with

    from humas_airflow import approval_app

    _waiting(store, "at-start")
    index = ItemIndex(snapshot_key=KEY)
    monkeypatch.setattr(approval_app, "INDEX", index)
    monkeypatch.setattr(approval_app, "_store", lambda: store)
    parent = FastAPI(lifespan=lifespan)
    parent.mount("/humas", approval_app.app)  # as airflow.api_fastapi.app.init_plugins mounts a plugin's app
    TestClient(parent).get("/humas/static/humas.css")
    assert index.known("at-start") is None  # a server whose lifespan did not run fills nothing by itself
    with TestClient(parent):
        assert _until(lambda: index.known("at-start") is not None)
    assert index.as_of and index.as_of <= datetime.now(timezone.utc)
