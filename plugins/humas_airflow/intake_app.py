"""The bucket's event webhook: the moment a file lands in the inbox, its item is checked and its run started.

Mounted by the API server at ``/humas-intake``. MinIO's ``notify_webhook`` target (events
``s3:ObjectCreated:*``, prefix ``inbox/``) posts each event to ``POST /humas-intake/minio/events`` with
``Authorization: Bearer <token>``: its ``auth_token`` must equal ``HUMAS_WEBHOOK_TOKEN`` on the API server.
The item goes through the same decision as the polling dispatcher (``humas.dispatch``): refused with the
reasons, left waiting for its files, or its run created with the item's run id, so the webhook and the
dispatcher racing still give one run per item. The dispatcher keeps polling: a lost event costs only its delay.
"""
from __future__ import annotations

import hmac
import json
import os
import threading
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from humas import layout
from humas.dispatch import assess_item, item_pending, start_item_runs
from humas.exceptions import LayoutError
from humas.profiles import channel_ids
from humas.sop import available_sops

from humas_airflow.hooks import AirflowApiHook, HumasBucketHook

TOKEN_ENV = "HUMAS_WEBHOOK_TOKEN"
EVENTS_PATH = "/minio/events"

app = FastAPI(title="Humas intake", description="Bucket notifications (MinIO webhook) that start item runs at once.")


class EventError(ValueError):
    """A notification this endpoint cannot act on; the message says what is wrong and what to change."""


def inbox_items(event: Any, bucket: str) -> list[str]:
    """The inbox items a MinIO (S3-format) notification names, in order; deletions and the like name none."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise EventError("the body is not a bucket notification: expected JSON with a non-empty 'Records' list "
                         "(MinIO notify_webhook format)")
    items: list[str] = []
    for n, record in enumerate(records):
        try:
            name, record_bucket = record["eventName"], record["s3"]["bucket"]["name"]
            key = unquote_plus(record["s3"]["object"]["key"])  # S3/MinIO send keys URL-encoded
        except (KeyError, TypeError):
            raise EventError(f"Records[{n}] needs eventName, s3.bucket.name and s3.object.key") from None
        if not str(name).startswith("s3:ObjectCreated:"):
            continue
        if record_bucket != bucket:
            raise EventError(f"Records[{n}]: bucket {record_bucket!r} is not the pipeline's bucket {bucket!r}; "
                             f"send only events of bucket {bucket}")
        item_id = _inbox_item(key, n)
        if item_id not in items:
            items.append(item_id)
    return items


def _inbox_item(key: str, n: int) -> str:
    parts = key.split("/")
    if len(parts) != 3 or parts[0] + "/" != layout.INBOX or not parts[2]:
        raise EventError(f"Records[{n}]: key {key!r} is not a file in an item folder ({layout.INBOX}<item>/<file>); "
                         f"limit the notification to the prefix {layout.INBOX}")
    try:
        return layout.check_item_id(parts[1])
    except LayoutError as exc:
        raise EventError(f"Records[{n}]: key {key!r}: {exc}") from None


def minio_event(bucket: str, key: str, size: int, etag: str, event_name: str = "s3:ObjectCreated:Put",
                at: datetime | None = None) -> dict[str, Any]:
    """A notification exactly as MinIO's webhook target sends it (for tests and benchmarks; moto sends none)."""
    at = at or datetime.now(timezone.utc)
    return {
        "EventName": event_name,
        "Key": f"{bucket}/{key}",
        "Records": [{
            "eventVersion": "2.0", "eventSource": "minio:s3", "awsRegion": "",
            "eventTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "eventName": event_name,
            "userIdentity": {"principalId": "humas"},
            "requestParameters": {"principalId": "humas", "region": "", "sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-id-2": "", "x-amz-request-id": "0", "x-minio-origin-endpoint": ""},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "Config",
                   "bucket": {"name": bucket, "ownerIdentity": {"principalId": "humas"}, "arn": f"arn:aws:s3:::{bucket}"},
                   "object": {"key": quote_plus(key, safe=""), "size": size, "eTag": etag,
                              "contentType": "application/octet-stream", "userMetadata": {}, "sequencer": "0"}},
            "source": {"host": "127.0.0.1", "port": "", "userAgent": "MinIO (linux; amd64)"},
        }],
    }


def authorized(header: str | None) -> bool:
    """Whether ``Authorization`` carries the shared token (compared in constant time)."""
    scheme, _, token = (header or "").partition(" ")
    expected = os.environ.get(TOKEN_ENV, "")
    return scheme.lower() == "bearer" and bool(token) and hmac.compare_digest(token.strip().encode(), expected.encode())


_store_cache: list[Any] = []
_item_locks = [threading.Lock() for _ in range(64)]  # one item is decided by one request at a time


def _store() -> Any:
    if not _store_cache:
        _store_cache.append(HumasBucketHook().get_store())
    return _store_cache[0]


def dispatch_item(item_id: str) -> str:
    """Decide one item and start its run if it can start; returns what happened, in a few words."""
    store = _store()
    with _item_locks[hash(item_id) % len(_item_locks)]:
        if not item_pending(store, item_id):
            return "already requested, started or refused"
        sops = available_sops()
        decision = assess_item(store, item_id, sops, channel_ids())
        if decision.action == "wait":
            return f"wait: {decision.reason}"
        dag_ids = {sop_id: sop.dag_id for sop_id, sop in sops.items()}
        return start_item_runs(store, [decision], dag_ids, AirflowApiHook().run_starter())[item_id]


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers or None)


@app.post(EVENTS_PATH)
async def bucket_event(request: Request) -> JSONResponse:
    """One MinIO notification: 401 without the shared token, 400 naming what is wrong, else each item's outcome."""
    if not os.environ.get(TOKEN_ENV):
        return _error(503, f"the webhook is off: set {TOKEN_ENV} on the API server and the same auth_token on "
                           "MinIO's notify_webhook target")
    if not authorized(request.headers.get("authorization")):
        return _error(401, "missing or wrong bearer token: set MinIO's notify_webhook auth_token to the value of "
                           f"{TOKEN_ENV}", **{"WWW-Authenticate": "Bearer"})
    try:
        event = json.loads(await request.body())
        items = inbox_items(event, await run_in_threadpool(lambda: _store().bucket))
    except ValueError as exc:  # EventError, or a body that is not JSON
        return _error(400, str(exc) if isinstance(exc, EventError) else f"the body is not JSON: {exc}")
    outcomes = {}
    for item_id in items:
        try:
            outcomes[item_id] = await run_in_threadpool(dispatch_item, item_id)
        except Exception as exc:  # noqa: BLE001 - the bucket failed; MinIO may send it again
            _store_cache.clear()
            outcomes[item_id] = f"failed: {type(exc).__name__}: {exc}"
    failed = {i: o for i, o in outcomes.items() if o.startswith("failed")}
    if failed:  # 5xx: MinIO keeps the event and sends it again; the dispatcher's poll is the fallback
        return JSONResponse({"detail": "could not dispatch now; the dispatcher's next poll picks these up",
                             "items": outcomes}, status_code=503)
    return JSONResponse({"items": outcomes})


@app.api_route(EVENTS_PATH, methods=["GET", "HEAD"])
async def liveness() -> JSONResponse:
    """MinIO checks that a webhook target answers before it sends events."""
    return JSONResponse({"status": "ok"})
