"""Exactly-once publishing of one item to one channel.

None of the platforms' publish endpoints takes an idempotency key, so the record in the bucket is the
guard: "attempting" is written before the request, "published" the moment the platform confirms. A
retry that finds "attempting" asks the platform whether the post exists before sending it again.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from humas import layout
from humas.exceptions import PlatformError, PublishUncertainError
from humas.platforms import PlatformClient, PostRequest, PublishedPost
from humas.status import utcnow

if TYPE_CHECKING:
    from humas.store import Store

# Clock skew allowance when asking a platform for posts made since an attempt began.
LOOKBACK_SLACK = timedelta(minutes=2)


def read_record(store: "Store", item_id: str, channel: str) -> dict[str, Any]:
    return store.get_json(layout.publish_key(item_id, channel)) or {"state": "new", "attempts": 0}


def _write(store: "Store", item_id: str, channel: str, record: dict[str, Any]) -> None:
    store.put_json(layout.publish_key(item_id, channel), record)


def _published(store: "Store", item_id: str, record: dict[str, Any], post: PublishedPost, how: str) -> PublishedPost:
    record.update(state="published", post=post.__dict__, confirmed_by=how, confirmed_at=utcnow().isoformat())
    _write(store, item_id, post.channel, record)
    return post


def _already_there(client: PlatformClient, post: PostRequest, record: dict[str, Any]) -> PublishedPost | None:
    since = datetime.fromisoformat(record["started_at"]) - LOOKBACK_SLACK
    return client.find_existing(post, since)


def publish_once(store: "Store", client: PlatformClient, post: PostRequest) -> PublishedPost:
    """Publish ``post`` on ``client.channel`` unless it is already there; return the confirmed post.

    Raises ``PlatformError`` when the platform refused (record says why) and ``PublishUncertainError``
    when the outcome is unknown and the post could not be found yet (record stays "attempting").
    """
    item_id, channel = post.item_id, client.channel
    record = read_record(store, item_id, channel)
    if record["state"] == "published":
        return PublishedPost(**record["post"])
    if record["state"] == "attempting":
        found = _already_there(client, post, record)
        if found:
            return _published(store, item_id, record, found, "found on platform after an interrupted attempt")
    record.update(state="attempting", attempts=record.get("attempts", 0) + 1, started_at=utcnow().isoformat(),
                  error=None)
    _write(store, item_id, channel, record)
    try:
        return _published(store, item_id, record, client.publish(post), "platform response")
    except PublishUncertainError:
        found = _already_there(client, post, record)
        if found:
            return _published(store, item_id, record, found, "found on platform after a timeout")
        raise
    except PlatformError as exc:
        record.update(state="failed", error=str(exc), retryable=exc.retryable)
        _write(store, item_id, channel, record)
        raise


def receipt(store: "Store", item_id: str, channels: list[str], title: str, sop_id: str) -> dict[str, Any]:
    """The SOP's output: the link of every post, and which channels have none (never a silent gap)."""
    posts, missing = [], []
    for channel in channels:
        record = read_record(store, item_id, channel)
        if record["state"] == "published":
            posts.append(record["post"])
        else:
            missing.append({"channel": channel, "state": record["state"], "error": record.get("error")})
    return {"item_id": item_id, "title": title, "sop": sop_id, "posts": posts, "missing": missing,
            "complete": not missing, "recorded_at": utcnow().isoformat()}
