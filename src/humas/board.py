"""Every item across agencies as one row each: where it is in its SOP, who acts now, and how late.

The approver inbox and the ops board ("Papan Konten") both read their rows here. A row comes from two
small objects per item, its status record and its brief (never the event history), and ``ItemIndex``
keeps them per process: a page is built from memory, and a snapshot older than ``max_age`` is refreshed in
the background (stale while it refreshes), so with 500 items a page costs no bucket request at all.
"""
from __future__ import annotations

import gzip
import json
import logging
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable

import yaml

from humas import layout
from humas.brief import MAX_BRIEF_BYTES, MAX_BRIEF_DEPTH, read_brief_bytes
from humas.exceptions import HumasError, InvalidInputError
from humas.roster import Roster, load_roster
from humas.sla import event_due
from humas.status import STATE_LABELS, WAITING_STATES
from humas.timetext import duration_words
from humas.yamlio import load_strict

if TYPE_CHECKING:
    from humas.sop import Sop, Step
    from humas.store import Store

log = logging.getLogger(__name__)
FINISHED = frozenset({"published", "declined", "refused"})
MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ItemRecord:
    """What the bucket says about one item: its status record and the few brief fields a row shows."""

    item_id: str
    status: dict[str, Any]
    title: str
    sop_id: str
    submitter: str
    event_date: date | None = None


@dataclass(frozen=True)
class Card:
    """One item as a row of the inbox or the board, in the words staff read."""

    item_id: str
    title: str
    sop_id: str
    agency: str
    state: str
    state_label: str
    step_number: int | None
    step_words: str
    role_id: str
    role_name: str
    holders: tuple[str, ...]       # names of the people who act now (from the roster)
    submitter: str                 # the submitter's name
    submitter_id: str
    since: datetime | None         # when the item reached the step it is at
    standard: str                  # the step's standard time in words ("30 menit", "menyesuaikan")
    left: timedelta | None         # time left against the standard time; negative when late
    last_event: str
    dag_id: str

    @property
    def waiting(self) -> bool:
        return self.state in WAITING_STATES

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def late(self) -> bool:
        return self.left is not None and self.left < timedelta(0) and not self.finished

    def time_words(self) -> str:
        """``terlambat 1 jam 5 menit``, ``sisa 20 menit``, or empty when the step has no standard time."""
        if self.left is None or self.finished:
            return ""
        if self.left < timedelta(0):
            return f"terlambat {duration_words(-self.left)}"
        return f"sisa {duration_words(self.left)}"

    @property
    def run_id(self) -> str:
        return layout.run_id_for(self.item_id)


def read_record(store: "Store", item_id: str, known: ItemRecord | None = None) -> ItemRecord | None:
    """The item's status record and brief fields (two small reads); None for a folder with no status yet.

    Given the ``known`` record, the brief is read again only when the status moved on (an edited brief moves
    it: the gate reviews it anew), so a refresh of unchanged items costs one read each.
    """
    status = store.get_json(layout.status_key(item_id))
    if not isinstance(status, dict):
        return None
    if known is not None and known.status.get("at") == status.get("at"):
        return replace(known, status=status)
    brief = _brief_fields(read_brief_bytes(store, item_id) or b"")
    event_date = brief.get("event_date")
    return ItemRecord(item_id, status, _text(brief.get("title")) or item_id, _text(brief.get("sop")),
                      _text(brief.get("submitter")), event_date if isinstance(event_date, date) else None)


def _brief_fields(data: bytes) -> dict[str, Any]:
    """The brief as YAML, unvalidated (a refused brief is shown too), read with the briefs' own limits (a hostile
    one cannot stop the index); empty when it does not parse."""
    try:
        raw = load_strict(data, max_bytes=MAX_BRIEF_BYTES, max_depth=MAX_BRIEF_DEPTH)
    except yaml.YAMLError:
        return {}
    return raw if isinstance(raw, dict) else {}


def _text(value: Any) -> str:
    return value.strip()[:200] if isinstance(value, str) else ""


def card_of(record: ItemRecord, sops: dict[str, "Sop"], rosters: Callable[[str], Roster | None],
            now: datetime) -> Card:
    """The row of one item: its step in the SOP's words, who acts now, time left or late."""
    status, sop = record.status, sops.get(record.sop_id)
    state = str(status.get("state", ""))
    step = next((s for s in sop.steps if s.task_id == status.get("step")), None) if sop else None
    roster = rosters(record.sop_id) if sop else None
    since = _moment(status.get("step_since") or status.get("at"))
    holders = tuple(p.name for p in roster.holders(step.actor) if p.id != record.submitter) \
        if roster and step else ()
    submitter = roster.person(record.submitter) if roster else None
    return Card(record.item_id, record.title, record.sop_id, sop.agency if sop else record.sop_id or "-",
                state, STATE_LABELS.get(state, state), step.number if step else None,
                f"{step.number}. {step.activity}" if step else "-", step.actor if step else "",
                sop.role(step.actor).name if sop and step else "-", holders,
                submitter.name if submitter else record.submitter or "-", record.submitter, since,
                step.time.describe() if step else "", _left(step, since, record.event_date, now),
                _last_event(status), sop.dag_id if sop else "")


def _left(step: "Step | None", since: datetime | None, event_date: date | None, now: datetime) -> timedelta | None:
    if step is None or since is None:
        return None
    if step.time.kind == "duration" and step.time.minutes:
        return since + timedelta(minutes=step.time.minutes) - now
    due = event_due(step, event_date)
    return due - now if due else None


def _last_event(status: dict[str, Any]) -> str:
    label, message = str(status.get("label", "")), str(status.get("message", ""))
    return f"{label}: {message}" if message else label


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def agencies_of(person_id: str, sops: dict[str, "Sop"], rosters: Callable[[str], Roster | None]) -> set[str]:
    """The SOP ids whose roster lists ``person_id``: the agencies whose items they may see."""
    return {sop_id for sop_id in sops if (roster := rosters(sop_id)) and roster.person(person_id)}


def may_decide(card: Card, person_id: str, rosters: Callable[[str], Roster | None]) -> bool:
    """Whether ``person_id`` holds the role of the gate the item waits at, and did not submit it."""
    roster = rosters(card.sop_id)
    person = roster.person(person_id) if roster else None
    return bool(card.waiting and person and card.role_id in person.roles and person_id != card.submitter_id)


def inbox(cards: Iterable[Card], person_id: str, agencies: set[str],
          rosters: Callable[[str], Roster | None]) -> list[tuple[Card, bool]]:
    """The waiting items of the person's own agencies, those they may decide first, oldest first."""
    mine = [(c, may_decide(c, person_id, rosters)) for c in cards if c.waiting and c.sop_id in agencies]
    return sorted(mine, key=lambda pair: (not pair[1], pair[0].since or datetime.max.astimezone()))


@dataclass(frozen=True)
class BoardFilter:
    """What the ops board shows: empty fields mean "all"."""

    agency: str = ""      # a SOP id
    state: str = ""       # a state, or "waiting", "finished", "open"
    role: str = ""        # a role id
    late: bool = False

    def keeps(self, card: Card) -> bool:
        state_ok = (not self.state or card.state == self.state or (self.state == "waiting" and card.waiting)
                    or (self.state == "finished" and card.finished) or (self.state == "open" and not card.finished))
        return ((not self.agency or card.sop_id == self.agency) and state_ok
                and (not self.role or card.role_id == self.role) and (not self.late or card.late))


def group_by_step(cards: Iterable[Card]) -> list[tuple[str, list[Card]]]:
    """Rows grouped under "<agency> — <step>", the latest first within a group; groups by agency and step."""
    groups: dict[tuple[str, int, str], list[Card]] = {}
    for card in cards:
        groups.setdefault((card.agency, card.step_number or 0, card.step_words), []).append(card)
    return [(f"{agency} — Langkah {words}", sorted(rows, key=lambda c: (not c.late, c.left or timedelta(0))))
            for (agency, _, words), rows in sorted(groups.items())]


class ItemIndex:
    """Every item's record, kept in this process and refreshed in the background when older than ``max_age``.

    ``forget(item)`` makes the next look read that item again (after a decision taken here). With a
    ``snapshot_key`` the index is also kept in the bucket after each refresh that changed it, so a process that
    starts (``warm``) fills itself from one read and then catches up in the background (one small read per
    item: a brief is read again only for an item whose status moved on).
    """

    def __init__(self, max_age: timedelta = timedelta(seconds=15), workers: int = 8,
                 snapshot_key: str | None = None) -> None:
        self.max_age, self.workers, self.snapshot_key = max_age, workers, snapshot_key
        self._records: dict[str, ItemRecord] = {}
        self._read_at = 0.0                      # monotonic time of the last refresh; 0: never refreshed
        self._as_of: datetime | None = None      # when the rows were read from the items (wall time)
        self._saved: dict[str, ItemRecord] | None = None   # what the bucket's snapshot holds
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._fill_lock = threading.Lock()
        self._filled = threading.Event()
        self._refreshing = False

    @property
    def as_of(self) -> datetime | None:
        """When the rows were read (a snapshot's rows are as old as the snapshot)."""
        return self._as_of

    def warm(self, store_of: Callable[[], "Store"]) -> threading.Thread:
        """Fill the index in a thread of its own (at server start, so start-up does not wait for it); a page
        asked for meanwhile waits for this fill, not for a second one."""
        def fill() -> None:
            try:
                self._fill(store_of())
            except Exception:  # noqa: BLE001 - the first page then fills the index itself
                log.warning("the item index could not be filled at start; the first page will", exc_info=True)

        thread = threading.Thread(target=fill, name="humas-item-index-warm", daemon=True)
        thread.start()
        return thread

    def records(self, store: "Store") -> list[ItemRecord]:
        """Every item's record: from memory; the first call (and a forgotten item) reads the bucket."""
        if not self._filled.is_set():
            self._fill(store)
        elif time.monotonic() - self._read_at > self.max_age.total_seconds():
            self._refresh_in_background(store)
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        for item_id in dirty:
            self._put(item_id, read_record(store, item_id))
        with self._lock:
            return list(self._records.values())

    def known(self, item_id: str) -> ItemRecord | None:
        """The item's record as this index holds it (no bucket request); None when it holds none."""
        with self._lock:
            return self._records.get(item_id)

    def forget(self, item_id: str) -> None:
        with self._lock:
            self._dirty.add(item_id)

    def _put(self, item_id: str, record: ItemRecord | None) -> None:
        with self._lock:
            if record is None:
                self._records.pop(item_id, None)
            else:
                self._records[item_id] = record

    def _fill(self, store: "Store") -> None:
        """The first fill, once: from the bucket's snapshot (then a refresh in the background), else every item."""
        with self._fill_lock:
            if self._filled.is_set():
                return
            if self._load_snapshot(store):
                self._refresh_in_background(store)
            else:
                self._refresh(store)

    def _load_snapshot(self, store: "Store") -> bool:
        if not self.snapshot_key:
            return False
        try:
            found = snapshot_records(store.get_bytes(self.snapshot_key, MAX_SNAPSHOT_BYTES))
        except Exception:  # noqa: BLE001 - a cache: without it every item is read
            log.warning("the item index snapshot cannot be read; reading every item", exc_info=True)
            return False
        if found is None:
            return False
        records, as_of = found
        with self._lock:
            self._records, self._saved, self._as_of = records, dict(records), as_of
        self._filled.set()
        return True

    def _refresh(self, store: "Store") -> None:
        try:
            began = datetime.now(timezone.utc)
            ids = [i for i in (layout.item_id_from_inbox_prefix(f) for f in store.list_folders(layout.INBOX)) if i]
            known = dict(self._records)
            with ThreadPoolExecutor(self.workers) as pool:
                found = {r.item_id: r for r in pool.map(lambda i: _safe_read(store, i, known.get(i)), ids) if r}
            with self._lock:
                self._records, self._read_at, self._as_of = found, time.monotonic(), began
            self._filled.set()
            self._save_snapshot(store, found, began)
        finally:
            with self._lock:
                self._refreshing = False

    def _save_snapshot(self, store: "Store", records: dict[str, ItemRecord], as_of: datetime) -> None:
        """Keep the index in the bucket when it changed (a failure only costs the next start a full read)."""
        if not self.snapshot_key or records == self._saved:
            return
        try:
            store.put_bytes(self.snapshot_key, snapshot_bytes(records, as_of), "application/gzip")
            self._saved = dict(records)
        except Exception:  # noqa: BLE001 - a cache: the pages work without it
            log.warning("the item index snapshot could not be written", exc_info=True)

    def _refresh_in_background(self, store: "Store") -> None:
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self._refresh, args=(store,), name="humas-item-index", daemon=True).start()


def snapshot_bytes(records: dict[str, ItemRecord], as_of: datetime) -> bytes:
    """The index as gzipped JSON: one entry per item, as read."""
    items = [{"item_id": r.item_id, "status": r.status, "title": r.title, "sop": r.sop_id,
              "submitter": r.submitter, "event_date": r.event_date.isoformat() if r.event_date else None}
             for r in records.values()]
    return gzip.compress(json.dumps({"as_of": as_of.isoformat(), "items": items}).encode(), 5)


def snapshot_records(data: bytes | None) -> tuple[dict[str, ItemRecord], datetime] | None:
    """The records of a snapshot and when they were read; None when there is none or it is not one."""
    if not data:
        return None
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip; at most MAX_SNAPSHOT_BYTES inflated
    text = inflate.decompress(data, MAX_SNAPSHOT_BYTES)
    if inflate.unconsumed_tail:
        return None
    raw = json.loads(text)
    as_of = _moment(raw.get("as_of")) if isinstance(raw, dict) else None
    if as_of is None or not isinstance(raw.get("items"), list):
        return None
    records = [r for r in map(_snapshot_record, raw["items"]) if r]
    return {r.item_id: r for r in records}, as_of


def _snapshot_record(entry: Any) -> ItemRecord | None:
    if not isinstance(entry, dict) or not layout.is_item_id(entry.get("item_id")) \
            or not isinstance(entry.get("status"), dict):
        return None
    try:
        event_date = date.fromisoformat(entry["event_date"]) if entry.get("event_date") else None
    except (TypeError, ValueError):
        event_date = None
    return ItemRecord(entry["item_id"], entry["status"], _text(entry.get("title")) or entry["item_id"],
                      _text(entry.get("sop")), _text(entry.get("submitter")), event_date)


def _safe_read(store: "Store", item_id: str, known: ItemRecord | None) -> ItemRecord | None:
    try:
        return read_record(store, item_id, known)
    except (HumasError, ValueError):
        return None


def roster_lookup(sops: dict[str, "Sop"]) -> Callable[[str], Roster | None]:
    """A roster reader for one page: each agency's roster read once (None when it does not load)."""
    found: dict[str, Roster | None] = {}

    def lookup(sop_id: str) -> Roster | None:
        if sop_id not in found:
            try:
                found[sop_id] = load_roster(sops[sop_id]) if sop_id in sops else None
            except InvalidInputError:
                found[sop_id] = None
        return found[sop_id]

    return lookup
