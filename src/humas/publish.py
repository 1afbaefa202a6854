"""Exactly-once publishing of one item to one channel.

None of the platforms' publish endpoints takes an idempotency key, so the record in the bucket is the
guard: "attempting" is written before the request, "published" the moment the platform confirms. Every
call that finds no "published" record asks the platform first, whatever the record says or even with no
record at all (a lost or deleted record must never cause a second post), and the post is found by the
item's reference in its text (``post_text``), never by its caption. The records live under ``pipeline/``,
which only the pipeline's bucket identity may write (see the bucket policies), so nobody else can forge
"published". Steps a client reports on the way
(each Instagram story, a video container, an upload session and the offset the platform confirmed, a media id)
are kept in the record's ``progress`` the moment they happen, so a crash in the middle of an upload resumes from
there (or starts again) and still never posts twice: the platform is asked for the post before anything is sent.
When the platform is still processing a video the client raises ``StillProcessing``: the record stays
"attempting" with its progress, and the next call (at ``check_at``) resumes.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from humas import layout
from humas.exceptions import PlatformError, PublishUncertainError, StillProcessing
from humas.platforms import PlatformClient, PostRequest, Progress, PublishedPost, post_text
from humas.quota import ensure_quota
from humas.status import utcnow

if TYPE_CHECKING:
    from humas.assets.model import Finding
    from humas.store import Store

__all__ = ["LOOKBACK_SLACK", "caption_findings", "post_text", "publish_once", "read_record", "receipt",
           "record_verification", "record_verified_media", "verified_media"]

# Clock skew allowance when asking a platform for posts made since an attempt began.
LOOKBACK_SLACK = timedelta(minutes=2)
# How far back to look for the item's post when neither a record nor the caller says when the item began.
UNKNOWN_START_LOOKBACK = timedelta(days=30)


def read_record(store: "Store", item_id: str, channel: str) -> dict[str, Any]:
    return store.get_json(layout.publish_key(item_id, channel)) or {"state": "new", "attempts": 0}


def _write(store: "Store", item_id: str, channel: str, record: dict[str, Any]) -> None:
    store.put_json(layout.publish_key(item_id, channel), record)


def record_verification(store: "Store", item_id: str, channel: str, verification: dict[str, Any]) -> None:
    """Keep in the channel's record what the platform showed against the approved media (``humas.verify``)."""
    record = read_record(store, item_id, channel)
    record["verification"] = verification
    _write(store, item_id, channel, record)


def verified_media(store: "Store", item_id: str, channel: str) -> dict[str, dict[str, str]]:
    """The approved videos an earlier try of this channel's upload read whole and hashed: key -> the version id it
    read and that version's sha256. The record is the pipeline's own, so a mark is what the pipeline saw."""
    return read_record(store, item_id, channel).get("verified_media") or {}


def record_verified_media(store: "Store", item_id: str, channel: str, key: str, version: str, digest: str) -> None:
    """Keep in the channel's record that ``version`` of ``key`` has the sha256 ``digest`` (a version's bytes
    never change in a versioned bucket), so a deferred try need not read the video again."""
    record = read_record(store, item_id, channel)
    record.setdefault("verified_media", {})[key] = {"version": version, "sha256": digest}
    _write(store, item_id, channel, record)


def _published(store: "Store", item_id: str, record: dict[str, Any], post: PublishedPost, how: str) -> PublishedPost:
    record.update(state="published", post=post.to_dict(), error=None, check_at=None, confirmed_by=how,
                  confirmed_at=utcnow().isoformat())
    _write(store, item_id, post.channel, record)
    return post


def _already_there(client: PlatformClient, post: PostRequest, record: dict[str, Any],
                   progress: Progress, since: datetime | None = None) -> PublishedPost | None:
    """Ask the platform for the post, from just before the item began or its first attempt, whichever is first."""
    moments = [datetime.fromisoformat(m) for m in (record.get("first_started_at"), record.get("started_at")) if m]
    moments += [since] if since else []
    start = min(moments) if moments else utcnow() - UNKNOWN_START_LOOKBACK
    return client.find_existing(post, start - LOOKBACK_SLACK, progress)


def _progress(store: "Store", item_id: str, channel: str, record: dict[str, Any]) -> Progress:
    """The record's progress; every step put in it rewrites the record at once."""
    steps: dict[str, Any] = record.get("progress", {})

    def save() -> None:
        record["progress"] = steps
        _write(store, item_id, channel, record)
    return Progress(steps, save)


def publish_once(store: "Store", client: PlatformClient, post: PostRequest,
                 since: datetime | None = None) -> PublishedPost:
    """Publish ``post`` on ``client.channel`` unless it is already there; return the confirmed post.

    ``since``: when the item was accepted (its run began); the platform is asked for the item's post from
    then on before anything is sent, so a post whose record is missing is found, not made again.

    Raises ``PlatformError`` when the platform refused (record says "failed" and why) and
    ``PublishUncertainError`` when the outcome is unknown and the post could not be found yet (record
    stays "attempting"). Either way the next call looks for the post before sending it again.
    ``QuotaExhausted`` (a ``PlatformError``) says the channel's quota is used up: raised before anything is
    sent (record unchanged), or as the platform's answer (record "failed", looked for first next time).
    ``StillProcessing``: the platform is processing the media; the record stays "attempting" with its progress
    and when to look again (``check_at``); call again then.
    """
    item_id, channel = post.item_id, client.channel
    record = read_record(store, item_id, channel)
    if record["state"] == "published":
        return PublishedPost.from_dict(record["post"])
    progress = _progress(store, item_id, channel, record)
    found = _already_there(client, post, record, progress, since)
    if found:
        how = {"attempting": "an interrupted attempt", "failed": "a failed attempt"}.get(record["state"], "no record")
        return _published(store, item_id, record, found, f"found on platform after {how}")
    ensure_quota(store, client, item_id)   # QuotaExhausted: nothing is sent while the channel's quota is used up
    now = utcnow().isoformat()
    resuming = record["state"] == "attempting" and record.get("check_at")   # after a deferral: the same attempt
    record.update(state="attempting", attempts=record.get("attempts", 0) + (0 if resuming else 1), started_at=now,
                  error=None, check_at=None)
    record.setdefault("first_started_at", now)
    _write(store, item_id, channel, record)
    try:
        return _published(store, item_id, record, client.publish(post, progress), "platform response")
    except StillProcessing as exc:
        record.update(state="attempting", check_at=exc.check_at.isoformat())
        _write(store, item_id, channel, record)
        raise
    except PublishUncertainError:
        found = _already_there(client, post, record, progress, since)
        if found:
            return _published(store, item_id, record, found, "found on platform after a timeout")
        raise
    except PlatformError as exc:
        record.update(state="failed", error=str(exc), retryable=exc.retryable)
        _write(store, item_id, channel, record)
        raise


def caption_findings(caption: str, item_id: str, channels: list[str],
                     placements: dict[str, str] | None = None) -> list["Finding"]:
    """The caption checks (length, hashtags, mentions) on the text each channel will really carry,
    reference included; a channel that carries no text (Instagram story) has nothing to check."""
    from humas.assets.caption import check_caption

    if not caption.strip():
        return check_caption(caption, channels)
    found: list[Finding] = []
    for channel in channels:
        text = post_text(caption, item_id, channel, (placements or {}).get(channel))
        if text:
            found += check_caption(text, [channel])
    return found


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
