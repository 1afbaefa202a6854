"""Triggers: small async waits on the bucket, run by the triggerer without a worker slot."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Callable

from asgiref.sync import sync_to_async
from airflow.triggers.base import BaseTrigger, TriggerEvent

from humas.dispatch import actionable_items
from humas.profiles import channel_ids
from humas.sop import available_sops

# A wait may last days: ride out a short bucket outage, report a long one.
MAX_CONSECUTIVE_ERRORS = 12


async def poll_until(probe: Callable[[], Any], ready: Callable[[Any], bool], poll_interval: float,
                     log: Any) -> dict[str, Any]:
    """Call ``probe`` (blocking, run in a thread) until ``ready(result)``; return the result or an error."""
    errors = 0
    while True:
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
    """Waits until the inbox has items the dispatcher can start or refuse; yields their ids."""

    def __init__(self, aws_conn_id: str, poll_interval: float = 5.0) -> None:
        super().__init__()
        self.aws_conn_id = aws_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"aws_conn_id": self.aws_conn_id, "poll_interval": self.poll_interval})

    def _pending(self) -> list[str]:
        from humas_airflow.hooks import HumasBucketHook

        store = HumasBucketHook(self.aws_conn_id).get_store()
        return [d.item_id for d in actionable_items(store, available_sops(), channel_ids())]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        outcome = await poll_until(self._pending, bool, self.poll_interval, self.log)
        if outcome["status"] == "ok":
            yield TriggerEvent({"status": "pending", "items": outcome["result"]})
        else:
            yield TriggerEvent(outcome)
