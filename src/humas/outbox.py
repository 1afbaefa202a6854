"""The notification outbox: every notice is written once to the bucket, then delivered once per channel.

Invariant: a person is told a thing (item, step, kind, round) at most once on each of their channels, and a
notice that may not have gone out is visible, never silently re-sent.

- ``post``: the notice is created with a conditional write (``Store.put_json_if_absent``) at the folder
  ``humas.layout.notice_folder`` names, so a retry, a restart or a second caller creates nothing new.
- ``deliver``: each channel is claimed with a conditional write (``claimed``) before anything is sent; a failed
  send is marked ``failed`` (with the error) on its claim at once, and the channels sent are recorded together
  in one write after the last of them (``layout.sent_key``: one request per notice, not one per channel). A
  channel already claimed is never sent again, so a crash between a claim and that record leaves ``claimed``
  channels that ``humas status`` reports (``undelivered``: maybe sent) instead of a duplicate message. A send
  the receiver refused without sending (``NotSent``: a chat's rate limit) is the one failure tried again: its
  claim goes and the notice is marked pending until the receiver's wait is over, for the sweep.
- ``pending``: a marker (``layout.outbox_pending_key``) is written before each notice and removed once every
  channel is claimed, so a sender that dies before claiming (a step whose every try crashed, a deadline
  callback Airflow does not call again) leaves its notice findable; ``humas.notify.send_pending`` sends it.
  A sender that Airflow runs again after a crash until it has sent (a wait's trigger: it posts its notices
  again, finds them, and delivers what is unclaimed) writes none (``findable=False``): two of a notice's seven
  requests, in the waves of reminders and misses of hundreds of waiting items. Its one gap: a wait that Airflow
  ends while no triggerer runs (its timeout passing during the outage) leaves the notice unsent, and ``humas
  status`` shows its channels ``pending``.

Addresses are never written to the bucket: the notice names the person and the channels they had; the
sender reads the addresses from the roster at delivery. Transports (email, Telegram, WhatsApp) are supplied by
the caller (``Transport``): Airflow notifiers in the pipeline, a recording fake nowhere (tests use the sandbox).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from humas import layout
from humas.status import utcnow

if TYPE_CHECKING:
    from humas.roster import Person, Roster
    from humas.store import Store

log = logging.getLogger(__name__)
CHANNELS = ("email", "telegram", "whatsapp")
ORPHAN_AGE = timedelta(hours=1)  # a pending marker without its notice this old: the notice was never written


@dataclass(frozen=True)
class Message:
    """What one notice says: the subject (email) and text, with the item and kind it is about."""

    subject: str
    text: str
    kind: str
    item_id: str = ""  # empty for a digest


class NotSent(Exception):
    """The receiver refused the message and did not send it (a chat's rate limit: Telegram's 429, WhatsApp's pair
    rate); it takes messages again after ``retry_after`` seconds. Safe to send again: nothing went out."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Transport(Protocol):
    """Sends one message to one address on one channel; raises when it could not (``NotSent`` when certainly
    nothing went out)."""

    def send(self, channel: str, address: str, message: Message) -> None:
        ...  # pragma: no cover


def post(store: "Store", folder: str, person: "Person", message: Message, sop_id: str, findable: bool = True
         ) -> dict[str, Any] | None:
    """Create the notice in ``folder`` for ``person`` (of SOP ``sop_id``'s roster); the record if this call created
    it, None if it existed. When ``findable``, a pending marker is written first, so a crash anywhere after leaves
    the notice for ``pending`` to find (``humas.notify.send_pending`` sends what nobody claimed); a sender run
    again after a crash passes False. No look before: the conditional write says whether the notice existed; the
    marker rewritten then goes when ``deliver`` has looked at it, or the sweep does, as any marker."""
    key = layout.notice_key(folder)
    record = {"person": person.id, "subject": message.subject, "text": message.text, "kind": message.kind,
              "item_id": message.item_id, "sop": sop_id, "channels": [c for c in CHANNELS if c in person.contacts],
              "at": utcnow().isoformat()}
    if findable and record["channels"]:  # (a person without contacts: nothing will ever be sent, nothing to find)
        store.put_json(layout.outbox_pending_key(folder), {"folder": folder, "sop": sop_id, "at": record["at"]})
    return record if store.put_json_if_absent(key, record) else None


def deliver(store: "Store", folder: str, roster: "Roster", transport: Transport,
            notice: dict[str, Any] | None = None, findable: bool = True) -> dict[str, str]:
    """Send the notice in ``folder`` (``notice``: its record, as ``post`` or ``pending`` gave it) on each of its
    channels not claimed yet; channel -> what happened now. Then every channel is claimed (or has no address),
    so the notice's pending marker goes (a retry's ``post`` wrote it again, even for a notice sent long ago);
    ``findable`` False: the sender's ``post`` wrote none."""
    if notice is None:
        notice = store.get_json(layout.notice_key(folder))
    if not notice:
        return {}
    person = roster.person(notice.get("person", ""))
    message = Message(notice["subject"], notice["text"], notice["kind"], notice.get("item_id", ""))
    done: dict[str, str] = {}
    retry_after = 0.0
    for channel in notice.get("channels", []):
        address = person.contacts.get(channel) if person else None
        key = layout.delivery_key(folder, channel)
        if not address or not store.put_json_if_absent(key, {"state": "claimed", "at": utcnow().isoformat()}):
            continue
        try:
            done[channel] = _send(store, key, transport, channel, address, message)
        except NotSent as exc:  # nothing went out: the channel is free again, for the sweep
            log.info("notice %s on %s refused for now (%s); sent again later", message.kind, channel, exc)
            store.delete(key)
            done[channel], retry_after = "deferred", max(retry_after, exc.retry_after)
    if sent := [channel for channel, state in done.items() if state == "sent"]:
        store.put_json(layout.sent_key(folder, sent), {"state": "sent", "at": utcnow().isoformat()})
    if "deferred" in done.values():
        now = utcnow()
        store.put_json(layout.outbox_pending_key(folder), {
            "folder": folder, "sop": notice.get("sop", ""), "at": now.isoformat(),
            "not_before": (now + timedelta(seconds=retry_after)).isoformat()})
    elif findable:
        store.delete(layout.outbox_pending_key(folder))
    return done


def pending(store: "Store", older_than: timedelta, now: datetime | None = None) -> list[dict[str, Any]]:
    """The notices (folder, sop, notice) that may still have a channel nobody claimed, marked more than
    ``older_than`` ago (a younger one is its sender's to finish) and not waiting for a receiver's rate limit
    (``not_before``). A marker whose notice never got written (a crash between the two) is removed once it is
    ``ORPHAN_AGE`` old."""
    now = now or utcnow()
    found = []
    for obj in store.list(layout.OUTBOX_PENDING):
        if obj.last_modified > now - older_than:
            continue
        marker = store.get_json(obj.key) or {}
        if _not_before(marker) > now:
            continue  # the receiver asked us to wait
        folder = marker.get("folder")
        if not layout.is_notice_folder(folder) or obj.key != layout.outbox_pending_key(folder):
            log.warning("outbox marker %s names no notice folder; removed", obj.key)
            store.delete(obj.key)
        elif (notice := store.get_json(layout.notice_key(folder))) is not None:
            found.append({"folder": folder, "sop": str(marker.get("sop", "")), "notice": notice})
        elif obj.last_modified <= now - ORPHAN_AGE:
            store.delete(obj.key)
    return found


def _not_before(marker: dict[str, Any]) -> datetime:
    """When a marked notice may be sent again (a receiver's rate limit); long ago when the marker says nothing."""
    try:
        return datetime.fromisoformat(str(marker["not_before"]))
    except (KeyError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)


def _send(store: "Store", key: str, transport: Transport, channel: str, address: str, message: Message) -> str:
    """Send on a claimed channel; a failure is recorded on the claim (the error text never holds the address),
    a success by the caller, with the other channels sent."""
    try:
        transport.send(channel, address, message)
    except NotSent:
        raise
    except Exception as exc:  # any other failure: recorded and reported, not retried (it may have gone out)
        log.warning("notice %s on %s not delivered: %s", message.kind, channel, type(exc).__name__)
        error = str(exc).replace(address, "<alamat>")[:300]  # no address in the bucket
        store.put_json(key, {"state": "failed", "error": f"{type(exc).__name__}: {error}", "at": utcnow().isoformat()})
        return "failed"
    return "sent"


def folders(store: "Store", prefix: str) -> list[str]:
    """The folders of the notices under ``prefix``."""
    found = (layout.notice_folder_of_key(obj.key) for obj in store.list(prefix))
    return [hit[0] for hit in found if hit and hit[1] == "notice"]


def notices(store: "Store", prefix: str) -> list[dict[str, Any]]:
    """Every notice under ``prefix`` with the state of each channel: sent, failed, claimed (maybe sent: a crash
    between the claim and the record) or pending (not claimed yet), oldest folder first."""
    folders: dict[str, dict[str, str]] = {}
    for obj in store.list(prefix):
        found = layout.notice_folder_of_key(obj.key)
        if found:
            folders.setdefault(found[0], {})[found[1]] = obj.key
    out = []
    for folder, keys in sorted(folders.items()):
        notice = store.get_json(keys["notice"]) if "notice" in keys else None
        if not notice:
            continue
        sent = {c for name in keys for c in layout.sent_channels(name)}
        states = {c: "sent" if c in sent else (store.get_json(keys[c]) or {}).get("state", "claimed") if c in keys
                  else "pending" for c in notice.get("channels", [])}
        out.append({**notice, "folder": folder, "deliveries": states})
    return out


def undelivered(store: "Store", prefix: str) -> list[dict[str, Any]]:
    """The notices under ``prefix`` with a channel that is not known to be sent."""
    return [n for n in notices(store, prefix) if any(s != "sent" for s in n["deliveries"].values())]
