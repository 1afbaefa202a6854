"""An item as people read it (``humas status``, the daily digest): times in WIB, durations in words, the
step's standard time and how late it is, the history wrapped instead of cut, and its notifications."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Mapping

from botocore.exceptions import ClientError

from humas import layout, outbox, progress
from humas.notify import step_budget
from humas.status import read_events, read_status, utcnow
from humas.timetext import duration_words, wib

if TYPE_CHECKING:
    from humas.sop import Sop, Step
    from humas.store import Store

WIDTH = 100
FINISHED = frozenset({"published", "declined", "refused"})
# The records a status links, as people call them (``humas status ITEM --save FOLDER`` copies them out)
FILE_WORDS = {"findings": "hasil pemeriksaan berkas", "preview": "lembar pratinjau", "refusal": "alasan penolakan",
              "receipt": "tanda terima unggahan"}


@dataclass(frozen=True)
class Position:
    """Where an open item stands: its SOP step, since when, and how late against the step's standard time."""

    step: "Step"
    since: datetime
    late: timedelta | None  # how far past the step's standard time; None when within it or it has none

    def time_words(self, now: datetime) -> str:
        """``Waktu baku 15 menit, batas ... WIB: terlambat 1 jam 12 menit`` or that the SOP sets none."""
        budget = step_budget(self.step)
        if budget is None:
            return f"Waktu baku: {self.step.time.text} (tanpa batas waktu tetap)"
        due = self.since + budget
        state = f"terlambat {duration_words(now - due)}" if now > due else f"sisa {duration_words(due - now)}"
        return f"Waktu baku {duration_words(budget)}, batas {wib(due)}: {state}"


def item_sop(events: list[dict[str, Any]], sops: Mapping[str, "Sop"]) -> "Sop | None":
    """The SOP an item runs under, as its steps recorded it in its events (what staff may read: not the
    dispatcher's records, which only the pipeline reads)."""
    sop_id = next((e["details"]["sop"] for e in reversed(events) if (e.get("details") or {}).get("sop")), None)
    return sops.get(sop_id) if sop_id else None


def position(sop: "Sop", status: Mapping[str, Any], events: list[dict[str, Any]], now: datetime) -> Position | None:
    """The open item's step and since when it has been there (the first of the latest run of events there)."""
    step = next((s for s in sop.steps if s.task_id == status.get("step")), None)
    if step is None or status.get("state") in FINISHED:
        return None
    since = datetime.fromisoformat(status["at"])
    for event in reversed(events):
        if event.get("step") != step.task_id:
            break
        since = datetime.fromisoformat(event["at"])
    budget = step_budget(step)
    late = now - (since + budget) if budget is not None and now > since + budget else None
    return Position(step, since, late)


def wrapped(text: str, indent: str, width: int = WIDTH) -> list[str]:
    """``text`` wrapped to ``width`` with ``indent`` on every line (nothing is cut off)."""
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [indent.rstrip()]


def history_lines(events: list[dict[str, Any]], width: int = WIDTH) -> list[str]:
    """Every event: its WIB time, label and step, then its whole message wrapped below."""
    lines: list[str] = []
    for event in events:
        lines.append(f"  {wib(datetime.fromisoformat(event['at']))}  {event.get('label', event['state'])}"
                     + (f"  ({event['step']})" if event.get("step") else ""))
        if event.get("message"):
            lines.extend(wrapped(event["message"], "      ", width))
    return lines


def notice_lines(store: "Store", item_id: str, width: int = WIDTH) -> list[str]:
    """The item's notifications: kind, to whom, each channel's delivery (``claimed``: may not have gone out)."""
    words = {"sent": "terkirim", "failed": "gagal", "claimed": "belum pasti terkirim", "pending": "belum dikirim"}
    lines: list[str] = []
    try:
        notices = list(outbox.notices(store, layout.notices_prefix(item_id)))
    except ClientError as exc:  # a credential that may not read them: say so, show the rest of the status
        if exc.response.get("Error", {}).get("Code") != "AccessDenied":
            raise
        return ["  (pemberitahuan tidak dapat dibaca dengan kredensial bucket ini)"]
    for notice in notices:
        at = wib(datetime.fromisoformat(notice["at"]))
        sent = ", ".join(f"{c} {words.get(s, s)}" for c, s in notice["deliveries"].items()) or "tanpa kontak"
        lines.extend(wrapped(f"{at}  {notice['subject']} -> {notice['person']}", "  ", width))
        lines.extend(wrapped(sent, "      ", width))
    return lines


def item_lines(store: "Store", item_id: str, sops: Mapping[str, "Sop"], now: datetime | None = None,
               width: int = WIDTH, viewer: str | None = None) -> list[str]:
    """What ``humas status <item>`` prints: state, step and its time, problems, links, history, notifications.

    ``viewer``: read the item as that person's view holds it (``humas.progress``: what staff may read; it has
    no notifications); None: the pipeline's own records (the ops credential).
    """
    status = read_status(store, item_id, viewer)
    if status is None:
        return [f"{item_id}: belum ada status (menunggu dispatcher)"]
    now, events = now or utcnow(), read_events(store, item_id, viewer)
    sop = item_sop(events, sops)
    lines = [f"{item_id}: {status['label']} [{status['state']}], sejak {wib(datetime.fromisoformat(status['at']))}"]
    lines += wrapped(status.get("message", ""), "  ", width)
    where = position(sop, status, events, now) if sop else None
    if where:
        lines += wrapped(f"Langkah {where.step.number}: {where.step.activity} ({sop.role(where.step.actor).name}). "
                         f"{where.time_words(now)}", "  ", width)
    for problem in status.get("details", {}).get("problems", []):
        lines += wrapped(f"- {problem['field']}: {problem['message']} (perbaiki: {problem['fix']})", "  ", width)
    if links := sorted(status.get("links", {})):
        files = ", ".join(FILE_WORDS.get(name, name) for name in links)
        lines += wrapped(f"Berkas: {files} (simpan: humas status {item_id} --save FOLDER)", "  ", width)
    lines += [f"  {p['channel']}: {p['permalink']}" for p in status.get("details", {}).get("posts", [])]
    lines += ["riwayat:", *history_lines(events, width)]
    notices = notice_lines(store, item_id, width) if viewer is None else []
    return lines + (["pemberitahuan:", *notices] if notices else [])


def save_linked(store: "Store", status: Mapping[str, Any], folder: Path) -> list[str]:
    """Copy the records ``status`` links (``FILE_WORDS``; from the reader's view, or the pipeline's records for
    ops) into ``folder``; what was saved or not, a line each. Only the names the view shares are written, so a
    record's name never reaches outside ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, key in sorted((status.get("links") or {}).items()):
        filename, words = PurePosixPath(str(key)).name, FILE_WORDS.get(name, name)
        body = store.get_bytes(key) if filename in progress.SHARED else None
        if body is None:
            lines.append(f"{words}: belum tersedia")
            continue
        (folder / filename).write_bytes(body)
        lines.append(f"{words}: {folder / filename}")
    return lines


def overview_line(item_id: str, status: Mapping[str, Any]) -> str:
    """One line of ``humas status``: the item, its state and since when, in WIB."""
    at = wib(datetime.fromisoformat(status["at"])) if status.get("at") else ""
    return f"{item_id:40} {status.get('label', 'Diterima, menunggu diproses'):32} {at}"
