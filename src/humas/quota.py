"""Publishing quotas and rate limits: an item whose channel is out of quota waits, holding no slot, and publishes
when the limit frees; it never fails because of a quota.

Three things, all per channel:

- the **note** (``pipeline/_quota/<channel>.json``): a limit that holds for every post of the account until a
  moment (X's window, a Graph rate limit, a 429 with Retry-After), written by the item that learnt of it, so the
  other items wait without sending a request the platform would refuse;
- the **line** (``pipeline/_quota/<channel>/<stamp>-<item>.json``): the items waiting for Instagram's rolling
  24-hour publishing limit, oldest first. An item's place in it decides when it may post: when the first post of
  the window turns 24 hours old the first item in line goes, at the second the second, and so on, so a hundred
  waiting items do not all wake for each freed slot;
- ``record_quota_wait``: the one place that records "item waits for the quota of <channel> until <time>" on the
  item's status (what staff read) and in the log (what operations watch).

A note or a line entry only ever delays a post; a forged one cannot make anything post twice, and a note further
ahead than ``MAX_NOTE_AHEAD`` is not believed.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from humas import layout
from humas.exceptions import QuotaExhausted
from humas.notify import notify_quota_wait
from humas.profiles import load_profiles
from humas.review import sha256
from humas.status import read_status, utcnow
from humas.timetext import wib

if TYPE_CHECKING:
    from humas.platforms import PlatformClient
    from humas.steps.base import ItemStep
    from humas.store import Store

log = logging.getLogger(__name__)

MAX_NOTE_AHEAD = timedelta(hours=25)     # the longest window a platform counts is 24 hours
MAX_WAIT = timedelta(hours=6)            # an item looks again at least this often (and so keeps its place alive)
STALE_PLACE = MAX_WAIT + timedelta(hours=1)   # a place not renewed for this long belongs to an item gone away


def ensure_quota(store: "Store", client: "PlatformClient", item_id: str) -> None:
    """Return when ``item_id`` may post on ``client.channel`` now; else raise ``QuotaExhausted`` saying until when.

    Asks the note first (no request), then the platform (Instagram: its publishing limit, for the item's place
    in the line; the others: what the headers of their last post said).
    """
    channel = client.channel
    until = noted_until(store, channel)
    if until:
        raise QuotaExhausted(channel, f"the limit of {channel} is used up (noted by an earlier post)", until=until)
    until = client.quota_until(place_in_line(store, channel, item_id))
    if until:
        raise QuotaExhausted(channel, f"the publishing quota of {channel} is used up", until=until, shared=False)


def noted_until(store: "Store", channel: str) -> datetime | None:
    """When the note says the channel's limit frees, if that is still ahead (and believable)."""
    note = store.get_json(layout.quota_note_key(channel)) or {}
    try:
        until = datetime.fromisoformat(note["until"])
    except (KeyError, TypeError, ValueError):
        return None
    now = utcnow()
    return until if now < until <= now + MAX_NOTE_AHEAD else None


def note_exhausted(store: "Store", exc: QuotaExhausted) -> None:
    """Tell every other item that the channel's limit is used up until ``exc.until`` (shared limits only)."""
    if not exc.shared or exc.until <= utcnow() or (noted_until(store, exc.channel) or exc.until) > exc.until:
        return
    if noted_until(store, exc.channel) != exc.until:
        store.put_json(layout.quota_note_key(exc.channel), {"channel": exc.channel, "until": exc.until.isoformat(),
                                                            "reason": str(exc), "noted_at": utcnow().isoformat()})


def note_after_post(store: "Store", client: "PlatformClient") -> None:
    """After a post: if its answer said the limit is now used up, note it (X's ``*-remaining: 0``)."""
    until = client.observed_until()
    if until:
        note_exhausted(store, QuotaExhausted(client.channel, "the platform's answer to the last post says the "
                                             "limit is used up", until=until))


# -- the line -------------------------------------------------------------------------------------------
def _places(store: "Store", channel: str) -> list[tuple[str, str]]:
    """(key, item) of every live place in the channel's line, first come first."""
    cutoff = utcnow() - STALE_PLACE
    places = []
    for obj in store.list(layout.quota_line_prefix(channel)):
        item = layout.item_id_from_quota_line_key(channel, obj.key)
        if item and obj.last_modified >= cutoff:
            places.append((obj.key, item))
    return places


def place_in_line(store: "Store", channel: str, item_id: str) -> int:
    """How many items wait before ``item_id`` for the channel's quota (all of them if it is not in line)."""
    items = [item for _, item in _places(store, channel)]
    return items.index(item_id) if item_id in items else len(items)


def keep_place(store: "Store", channel: str, item_id: str) -> None:
    """Take a place at the end of the line, or renew the item's place (so it is not taken for gone)."""
    mine = [key for key, item in _places(store, channel) if item == item_id]
    key = mine[0] if mine else layout.quota_line_key(channel, item_id, utcnow())
    store.put_json(key, {"item_id": item_id, "channel": channel, "renewed_at": utcnow().isoformat()})


def leave_line(store: "Store", channel: str, item_id: str) -> None:
    """The item has posted (or no longer waits): its place goes to the next."""
    for obj in store.list(layout.quota_line_prefix(channel)):
        if layout.item_id_from_quota_line_key(channel, obj.key) == item_id:
            store.delete(obj.key)


# -- what people read ---------------------------------------------------------------------------------------
def channel_name(channel: str) -> str:
    """The channel as people call it (Instagram, X)."""
    return load_profiles()[channel].display_name if channel in load_profiles() else channel


def wait_message(channel: str, until: datetime) -> str:
    """'Menunggu kuota Instagram, tersedia lagi sekitar Senin, 30 November 2026 pukul 14.05 WIB'."""
    return f"Menunggu kuota {channel_name(channel)}, tersedia lagi sekitar {wib(until)}"


def record_quota_wait(item: "ItemStep", waits: dict[str, QuotaExhausted]) -> datetime:
    """THE place where "item waits for the quota of <channel> until <time>" is recorded: the item's status (with
    each channel's moment under ``details.quota``), a warning in the log, and a message to the upload step's
    role (who runs the uploads), once per channel per visit of the item to this step, not per look. Returns
    the moment the item should look again: the earliest channel's, at most ``MAX_WAIT`` ahead."""
    for channel, exc in waits.items():
        log.warning("item %s waits for the quota of %s until %s: %s", item.item_id, channel,
                    exc.until.isoformat(), exc)
    message = "; ".join(wait_message(channel, exc.until) for channel, exc in sorted(waits.items()))
    item.record("waiting_quota", message,
                quota={channel: {"until": exc.until.isoformat(), "reason": str(exc)} for channel, exc in waits.items()})
    visit = (read_status(item.store, item.item_id) or {}).get("step_since", "")
    for channel, exc in sorted(waits.items()):
        notify_quota_wait(item, channel_name(channel), exc.until, f"{channel}-{sha256(visit.encode())[:16]}")
    return min(min(exc.until for exc in waits.values()), utcnow() + MAX_WAIT)
