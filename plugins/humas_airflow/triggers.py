"""Triggers: small async waits on the bucket, run by the triggerer without a worker slot."""
from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Callable

from asgiref.sync import sync_to_async
from airflow.triggers.base import BaseTrigger, TriggerEvent

from humas.dispatch import actionable_items
from humas.profiles import channel_ids
from humas.sop import available_sops

# A wait may last days: ride out a short bucket outage, report a long one.
MAX_CONSECUTIVE_ERRORS = 12


async def poll_until(probe: Callable[[], Any], ready: Callable[[Any], bool], poll_interval: float,
                     log: Any, max_wait: float | None = None) -> dict[str, Any]:
    """Call ``probe`` (blocking, run in a thread) until ``ready(result)``; return the result, an error, or
    ``{"status": "idle"}`` once ``max_wait`` seconds have passed."""
    errors, deadline = 0, (time.monotonic() + max_wait) if max_wait else None
    while deadline is None or time.monotonic() < deadline:
        try:
            result = await sync_to_async(probe)()
            errors = 0
        except Exception as exc:  # a bucket hiccup must not end a days-long wait at once
            errors += 1
            log.warning("bucket poll failed (%d in a row): %s", errors, exc)
            if errors >= MAX_CONSECUTIVE_ERRORS:
                return {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
        else:
            if ready(result):
                return {"status": "ok", "result": result}
        await asyncio.sleep(poll_interval)
    return {"status": "idle"}


class BucketChangeTrigger(BaseTrigger):
    """Waits until the objects under ``prefix`` differ from ``seen`` (key -> ETag); yields the new listing.

    Used for an approver's flag (one key, not there yet or rewritten) and for a corrected asset (the item
    folder's listing changes).
    """

    def __init__(self, prefix: str, seen: dict[str, str], aws_conn_id: str, poll_interval: float = 5.0) -> None:
        super().__init__()
        self.prefix = prefix
        self.seen = seen
        self.aws_conn_id = aws_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"prefix": self.prefix, "seen": self.seen, "aws_conn_id": self.aws_conn_id,
                 "poll_interval": self.poll_interval})

    def _listing(self) -> dict[str, str]:
        from humas_airflow.hooks import HumasBucketHook

        store = HumasBucketHook(self.aws_conn_id).get_store()
        return {obj.key: obj.etag for obj in store.list(self.prefix)}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        outcome = await poll_until(self._listing, lambda now: bool(now) and now != self.seen,
                                   self.poll_interval, self.log)
        if outcome["status"] == "ok":
            yield TriggerEvent({"status": "changed", "objects": outcome["result"]})
        else:
            yield TriggerEvent(outcome)


class NewItemsTrigger(BaseTrigger):
    """Waits until the inbox has items the dispatcher can start or refuse; yields their ids.

    After ``max_wait`` seconds with nothing to do it yields ``idle``, so a quiet inbox ends the
    dispatcher's run green instead of timing out.
    """

    def __init__(self, aws_conn_id: str, poll_interval: float = 5.0, max_wait: float = 6 * 3600) -> None:
        super().__init__()
        self.aws_conn_id = aws_conn_id
        self.poll_interval = poll_interval
        self.max_wait = max_wait

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"aws_conn_id": self.aws_conn_id, "poll_interval": self.poll_interval, "max_wait": self.max_wait})

    def _pending(self) -> list[str]:
        from humas_airflow.hooks import HumasBucketHook

        store = HumasBucketHook(self.aws_conn_id).get_store()
        return [d.item_id for d in actionable_items(store, available_sops(), channel_ids())]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        outcome = await poll_until(self._pending, bool, self.poll_interval, self.log, self.max_wait)
        if outcome["status"] == "ok":
            yield TriggerEvent({"status": "pending", "items": outcome["result"]})
        else:
            yield TriggerEvent(outcome)
