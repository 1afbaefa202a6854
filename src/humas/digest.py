"""The daily digest of an agency (07:00 WIB): what waits on whom, what is late; once per day and person.

It goes to the holders of the supervising roles the roster names (``supervisors``), or, in a roster without
them, to the holders of the SOP's gate roles.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from humas import layout, outbox
from humas.itemview import Position, position
from humas.outbox import Message
from humas.roster import load_roster
from humas.status import read_events, read_status
from humas.timetext import WIB, duration_words, wib

if TYPE_CHECKING:
    from humas.outbox import Transport
    from humas.roster import Person, Roster
    from humas.sop import Sop
    from humas.store import Store

log = logging.getLogger(__name__)


def open_items(store: "Store", sop: "Sop", now: datetime) -> list[tuple[str, dict[str, Any], Position]]:
    """Every item of the agency that is still open: (item, status, where it stands), oldest first."""
    found = []
    for obj in store.list(layout.dispatch_prefix("started")):
        item_id = layout.item_id_from_dispatch_key("started", obj.key)
        record = store.get_json(obj.key) if item_id else None
        if not record or record.get("dag_id") != sop.dag_id:
            continue
        status = read_status(store, item_id) or {}
        where = position(sop, status, read_events(store, item_id), now) if status else None
        if where:
            found.append((item_id, status, where))
    return sorted(found, key=lambda entry: entry[2].since)


def digest_text(sop: "Sop", roster: "Roster", items: list[tuple[str, dict[str, Any], Position]], now: datetime) -> str:
    """The digest's body: late items first, then the others, each with who it waits on and since when."""
    if not items:
        return f"Tidak ada konten yang sedang berjalan di SOP {sop.title}."
    lines = []
    for late in (True, False):
        chosen = [entry for entry in items if (entry[2].late is not None) == late]
        if chosen:
            lines.append("TERLAMBAT:" if late else "Sedang berjalan:")
        for item_id, status, where in chosen:
            role = sop.role(where.step.actor).name
            people = ", ".join(p.name for p in roster.holders(where.step.actor)) or "belum ada di roster"
            lines.append(f"- {item_id}: {status.get('label', '')}; langkah {where.step.number} "
                         f"({where.step.activity}), menunggu {role} ({people}) sejak {wib(where.since)}"
                         + (f", terlambat {duration_words(where.late)}" if where.late is not None else ""))
    return "\n".join(lines)


def recipients(sop: "Sop", roster: "Roster") -> list["Person"]:
    """The holders of the supervising roles (or, without any, of the gate roles), each once."""
    roles = set(roster.supervisors.values()) or {g.actor for g in sop.gates}
    return [p for p in roster.people.values() if roles & set(p.roles)]


def send_daily_digest(store: "Store", sop: "Sop", day_of: datetime, now: datetime,
                      transport: "Transport | None") -> int:
    """Write (once per WIB day of ``day_of`` and person) and deliver the agency's digest; how many were new."""
    roster = load_roster(sop)
    items = open_items(store, sop, now)
    day = day_of.astimezone(WIB).date().isoformat()
    late = sum(1 for entry in items if entry[2].late is not None)
    subject = f"Ringkasan harian {sop.agency}: {len(items)} konten berjalan, {late} terlambat"
    text = f"Ringkasan per {wib(now)}.\n\n{digest_text(sop, roster, items, now)}"
    created = 0
    for person in recipients(sop, roster):
        folder = layout.digest_folder(sop.id, day, person.id)
        record = outbox.post(store, folder, person, Message(subject, f"Yth. {person.name},\n\n{text}", "digest"),
                             sop.id)
        created += record is not None
        if not person.contacts:
            log.warning("digest of %s: %s has no contact details in the roster; skipped", sop.id, person.id)
        elif transport is not None:
            outbox.deliver(store, folder, roster, transport, notice=record)
    return created
