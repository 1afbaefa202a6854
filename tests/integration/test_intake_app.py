"""The bucket webhook (MinIO notify_webhook -> /humas-intake) and the API hook that starts item runs.

The bucket is a real moto S3 server; Airflow's API is a small stand-in over HTTP that answers
``POST /auth/token`` and ``POST /api/v2/dags/{id}/dagRuns`` the way Airflow 3.3 does (409 on a taken run id).
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from claims import submit_brief
from humas import layout
from humas.exceptions import HumasError
from humas.status import read_status
from humas.store import Store

from humas_airflow import intake_app
from humas_airflow.hooks import AirflowApiHook
from humas_airflow.intake_app import app, minio_event

TOKEN = "s3cret-webhook-token"
ITEM = "2026-12-01-hut-kota"


@pytest.fixture()
def client(monkeypatch: pytest.MonkeyPatch, store: Store, s3_server: str, airflow_api) -> TestClient:
    conn = {"conn_type": "aws", "login": "testing", "password": "testing",
            "extra": {"endpoint_url": s3_server, "region_name": "us-east-1",
                      "config_kwargs": {"s3": {"addressing_style": "path"}},
                      "service_config": {"s3": {"bucket_name": store.bucket}}}}
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_BUCKET", json.dumps(conn))
    monkeypatch.setenv("HUMAS_WEBHOOK_TOKEN", TOKEN)
    intake_app._store_cache.clear()  # a fresh bucket per test
    return TestClient(app)


def post(client: TestClient, body: Any, token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/minio/events", content=data, headers=headers)


def drop(store: Store, item_id: str = ITEM, brief: dict[str, Any] | None = None) -> dict[str, Any]:
    store.put_bytes(layout.asset_key(item_id, "poster.jpg"), b"\xff\xd8 not checked here", "image/jpeg")
    body = yaml.safe_dump(brief or {"title": "HUT Kota", "caption": "Selamat HUT", "channels": ["instagram"],
                                    "sop": "singkawang", "assets": ["poster.jpg"], "submitter": "skw.ayu"}).encode()
    submit_brief(store, item_id, body, "application/yaml")
    info = store.head(layout.brief_key(item_id))
    return minio_event(store.bucket, info.key, info.size, info.etag)


# ----------------------------------------------------------------------------------------- authentication


def test_a_wrong_or_missing_token_is_refused_with_401(client: TestClient, store: Store, airflow_api) -> None:
    event = drop(store)
    for token in ("wrong", "", None):
        resp = post(client, event, token)
        assert resp.status_code == 401 and "HUMAS_WEBHOOK_TOKEN" in resp.json()["detail"]
    resp = client.post("/minio/events", content=json.dumps(event), headers={"Authorization": f"Basic {TOKEN}"})
    assert resp.status_code == 401
    assert airflow_api.runs == {} and store.head(layout.dispatch_key("requested", ITEM)) is None


def test_without_a_configured_token_the_webhook_is_off(client: TestClient, store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUMAS_WEBHOOK_TOKEN")
    resp = post(client, drop(store), "")
    assert resp.status_code == 503 and "set HUMAS_WEBHOOK_TOKEN" in resp.json()["detail"]


def test_minio_can_check_the_target_is_alive(client: TestClient) -> None:
    assert client.head("/minio/events").status_code == 200
    assert client.get("/minio/events").json() == {"status": "ok"}


# ----------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("key", "says"), [
    ("approvals/x/step_3_decision.json", "is not a file in an item folder (inbox/<item>/<file>)"),
    ("inbox/brief.yaml", "is not a file in an item folder"),
    ("inbox/item/nested/poster.jpg", "is not a file in an item folder"),
    ("inbox/item/", "is not a file in an item folder"),
    ("inbox/bad item!/brief.yaml", "is not allowed: use 1-80 letters"),
])
def test_a_key_outside_an_item_folder_is_refused_with_400_saying_why(client: TestClient, store: Store, key: str,
                                                                    says: str) -> None:
    resp = post(client, minio_event(store.bucket, key, 1, "e"))
    assert resp.status_code == 400
    assert says in resp.json()["detail"] and repr(key) in resp.json()["detail"]


@pytest.mark.parametrize(("body", "says"), [
    (b"not json", "the body is not JSON"),
    ({"EventName": "s3:ObjectCreated:Put"}, "non-empty 'Records' list"),
    ({"Records": [{"eventName": "s3:ObjectCreated:Put"}]}, "Records[0] needs eventName, s3.bucket.name"),
])
def test_a_body_that_is_not_a_notification_is_refused_with_400(client: TestClient, body: Any, says: str) -> None:
    resp = post(client, body)
    assert resp.status_code == 400 and says in resp.json()["detail"]


def test_an_event_of_another_bucket_is_refused(client: TestClient, store: Store) -> None:
    resp = post(client, minio_event("other-bucket", layout.brief_key(ITEM), 1, "e"))
    assert resp.status_code == 400 and f"not the pipeline's bucket {store.bucket!r}" in resp.json()["detail"]


def test_a_deletion_starts_nothing(client: TestClient, store: Store, airflow_api) -> None:
    drop(store)
    resp = post(client, minio_event(store.bucket, layout.brief_key(ITEM), 0, "", "s3:ObjectRemoved:Delete"))
    assert resp.status_code == 200 and resp.json() == {"items": {}}
    assert airflow_api.runs == {}


# ----------------------------------------------------------------------------------------- dispatching


def test_a_good_event_starts_the_items_run_at_once(client: TestClient, store: Store, airflow_api, sops) -> None:
    resp = post(client, drop(store))
    assert resp.status_code == 200 and resp.json() == {"items": {ITEM: "created"}}
    run = dict(airflow_api.runs[layout.run_id_for(ITEM)])
    accepted = datetime.fromisoformat(run.pop("logical_date"))  # when the item was accepted (SLA deadlines)
    assert abs((datetime.now(timezone.utc) - accepted).total_seconds()) < 60
    assert run == {"dag_id": sops["singkawang"].dag_id, "dag_run_id": f"item__{ITEM}", "conf": {"item_id": ITEM}}
    requested = store.get_json(layout.dispatch_key("requested", ITEM))
    assert requested["run_id"] == f"item__{ITEM}" and requested["dag_id"] == sops["singkawang"].dag_id
    assert read_status(store, ITEM)["state"] == "received"


def test_the_same_event_again_or_an_asset_event_starts_no_second_run(client: TestClient, store: Store,
                                                                     airflow_api) -> None:
    event = drop(store)
    assert post(client, event).json() == {"items": {ITEM: "created"}}
    assert post(client, event).json() == {"items": {ITEM: "already requested, started or refused"}}
    asset = store.head(layout.asset_key(ITEM, "poster.jpg"))
    again = post(client, minio_event(store.bucket, asset.key, asset.size, asset.etag))
    assert again.json() == {"items": {ITEM: "already requested, started or refused"}}
    assert list(airflow_api.runs) == [f"item__{ITEM}"]


def test_a_run_that_already_exists_is_reported_not_started_again(client: TestClient, store: Store,
                                                                 airflow_api) -> None:
    event = drop(store)
    airflow_api.runs[f"item__{ITEM}"] = {"dag_id": "started by the dispatcher"}
    assert post(client, event).json() == {"items": {ITEM: "exists"}}
    assert airflow_api.runs[f"item__{ITEM}"] == {"dag_id": "started by the dispatcher"}


def test_an_asset_before_its_brief_waits(client: TestClient, store: Store, airflow_api) -> None:
    store.put_bytes(layout.asset_key(ITEM, "poster.jpg"), b"...", "image/jpeg")
    asset = store.head(layout.asset_key(ITEM, "poster.jpg"))
    resp = post(client, minio_event(store.bucket, asset.key, asset.size, asset.etag))
    assert resp.json() == {"items": {ITEM: "wait: no brief.yaml yet"}}
    assert airflow_api.runs == {}


def test_a_bad_brief_is_refused_with_its_problems(client: TestClient, store: Store, airflow_api) -> None:
    event = drop(store, brief={"title": "HUT", "caption": "c", "channels": ["myspace"], "sop": "singkawang",
                               "assets": ["poster.jpg"], "submitter": "skw.ayu"})
    assert post(client, event).json() == {"items": {ITEM: "refused"}}
    assert airflow_api.runs == {}
    assert read_status(store, ITEM)["state"] == "refused"
    assert "myspace" in json.dumps(store.get_json(layout.refusal_key(ITEM)))


def test_an_api_that_refuses_is_a_503_and_the_item_is_asked_again_later(client: TestClient, store: Store,
                                                                         airflow_api) -> None:
    airflow_api.known_dags.clear()  # e.g. the SOP's DAG is not parsed yet
    resp = post(client, drop(store))
    assert resp.status_code == 503 and "next poll" in resp.json()["detail"]
    assert resp.json()["items"][ITEM].startswith("failed: HumasError: Airflow refused to start run item__")
    assert "HTTP 404" in resp.json()["items"][ITEM]


# ----------------------------------------------------------------------------------------- the hook


def test_run_starter_signs_in_once_and_tells_created_from_exists(airflow_api, sops) -> None:
    start = AirflowApiHook().run_starter()
    dag_id = sops["kendal"].dag_id
    assert start(dag_id, "item__a", {"item_id": "a"}) == "created"
    assert start(dag_id, "item__a", {"item_id": "a"}) == "exists"
    assert start(dag_id, "item__b", {"item_id": "b"}) == "created"
    with pytest.raises(HumasError, match="Airflow refused to start run item__c of nope: HTTP 404"):
        start("nope", "item__c", {})
    assert airflow_api.sign_ins == 1


def test_run_starter_called_from_several_threads_signs_in_once(airflow_api, sops) -> None:
    airflow_api.sign_in_delay = 0.3  # the other threads ask while the first one is signing in
    start = AirflowApiHook().run_starter()
    dag_id = sops["kendal"].dag_id
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda n: start(dag_id, f"item__{n}", {"item_id": str(n)}), range(12)))
    assert outcomes == ["created"] * 12
    assert airflow_api.sign_ins == 1
    assert sorted(airflow_api.runs) == sorted(f"item__{n}" for n in range(12))


def test_a_409_for_a_run_id_that_does_not_exist_is_not_taken_for_exists(airflow_api, sops) -> None:
    dag_id = sops["kendal"].dag_id
    start = AirflowApiHook().run_starter()
    assert start(dag_id, "item__a", {}) == "created"
    airflow_api.clash.add("item__b")  # another run holds the same logical date: 409, but item__b has no run
    with pytest.raises(HumasError, match="Airflow refused to start run item__b of humas_sop_kendal: HTTP 409"):
        start(dag_id, "item__b", {})
    airflow_api.clash.clear()
    assert start(dag_id, "item__b", {}) == "created"


def test_a_busy_database_is_asked_again_before_giving_up(airflow_api, sops, monkeypatch) -> None:
    from humas_airflow import hooks

    monkeypatch.setattr(hooks, "RUN_START_RETRY_DELAYS", (0.01, 0.01, None))
    dag_id = sops["kendal"].dag_id
    start = AirflowApiHook().run_starter()
    airflow_api.busy.update({"item__a": 2, "item__b": 3})
    assert start(dag_id, "item__a", {}) == "created"
    with pytest.raises(HumasError, match="HTTP 500"):
        start(dag_id, "item__b", {})
