"""The SOP's records ("Pencatatan dan Pendataan") as reports: one per item, and one per agency per month.

The item report (JSON and HTML, beside the item in ``pipeline/<item>/``) is written when the item ends
(published, declined, or its brief refused): every step's actual time against its standard time, who decided
what and when, the comments, the link of every post, and a refused brief's problems. The monthly compliance report of one agency (``reports/<sop>/<month>``,
HTML with a chart drawn here, CSV and XLSX) counts the items received, published, declined and refused, and
per step and per role the median time and the share within the standard time, and lists every miss.
Everything is in Bahasa Indonesia, times in WIB, durations in words.
"""
from __future__ import annotations

import base64
import csv
import io
import logging
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from humas import layout, progress
from humas.approval import decision_label
from humas.board import read_record
from humas.roster import load_roster
from humas.status import STATE_LABELS, read_events, read_status
from humas.timetext import MONTHS, WIB, duration_words, wib

if TYPE_CHECKING:
    from humas.roster import Roster
    from humas.sop import Sop
    from humas.store import Store

log = logging.getLogger(__name__)
# Events that do not move the item (recorded beside the current state).
NOTES = frozenset({"sla_missed", "gate_not_required"})
ENDINGS = frozenset({"published", "declined", "refused"})


# -- one item ---------------------------------------------------------------------------------------------
def step_times(events: list[dict[str, Any]]) -> dict[str, tuple[timedelta, int]]:
    """Per step task id: the time the item spent at it (all visits added up) and how many visits."""
    moves = [e for e in events if e.get("state") not in NOTES and e.get("at")]
    spent: dict[str, tuple[timedelta, int]] = {}
    previous_step = None
    for event, following in zip(moves, moves[1:]):
        step = event.get("step")
        if not step:
            previous_step = None
            continue
        took = datetime.fromisoformat(following["at"]) - datetime.fromisoformat(event["at"])
        total, visits = spent.get(step, (timedelta(0), 0))
        spent[step] = (total + took, visits + (step != previous_step))
        previous_step = step
    return spent


def item_report(store: "Store", item_id: str, sop: "Sop | None", roster: "Roster | None" = None) -> dict[str, Any]:
    """The item's record: each step's actual vs standard time, every decision, the post links; for a refused
    brief, its problems (``sop`` is None when the brief names no SOP we know: the report has no steps)."""
    events = read_events(store, item_id)
    record = read_record(store, item_id)
    spent = step_times(events)
    final = next((e for e in reversed(events) if e.get("state") not in NOTES), {})
    received = next((e["at"] for e in events if e.get("at")), None)
    steps = [_step_row(step, spent.get(step.task_id)) for step in sop.steps] if sop else []
    refused = final.get("state") == "refused"
    return {"item_id": item_id, "title": record.title if record else item_id,
            "sop": sop.id if sop else (record.sop_id if record else ""), "agency": sop.agency if sop else "-",
            "sop_title": sop.title if sop else "-", "outcome": final.get("state", ""),
            "outcome_label": STATE_LABELS.get(final.get("state", ""), ""), "received_at": received,
            "ended_at": final.get("at") if final.get("state") in ENDINGS else None,
            "steps": steps, "decisions": _decisions(store, item_id, sop, roster) if sop else [],
            "posts": (store.get_json(layout.receipt_key(item_id)) or {}).get("posts", []),
            "sla_misses": [e.get("message", "") for e in events if e.get("state") == "sla_missed"],
            "refusal": final.get("message", "") if refused else "",
            "problems": list((final.get("details") or {}).get("problems") or []) if refused else []}


def _step_row(step: Any, spent: tuple[timedelta, int] | None) -> dict[str, Any]:
    standard = step.time.minutes if step.time.kind == "duration" else None
    actual = spent[0] if spent else None
    return {"number": step.number, "task_id": step.task_id, "activity": step.activity, "role": step.actor,
            "standard": step.time.describe(), "standard_minutes": standard,
            "actual_seconds": int(actual.total_seconds()) if actual is not None else None,
            "actual": duration_words(actual) if actual is not None else "-", "visits": spent[1] if spent else 0,
            "within": (actual <= timedelta(minutes=standard)) if actual is not None and standard else None}


def _decisions(store: "Store", item_id: str, sop: "Sop", roster: "Roster | None") -> list[dict[str, Any]]:
    rows = []
    for obj in store.list(layout.decisions_prefix(item_id)):
        flag = store.get_json(obj.key) or {}
        person = roster.person(flag.get("person", "")) if roster else None
        role = next((r.name for r in sop.roles if r.id == flag.get("role")), flag.get("role", ""))
        at = flag.get("at", "")
        rows.append({"at": at, "at_wib": _wib_text(at), "gate": flag.get("gate", ""), "person": flag.get("person", ""),
                     "name": person.name if person else flag.get("person", ""), "role": role,
                     "decision": flag.get("decision", ""), "label": decision_label(flag.get("decision", "")),
                     "comment": flag.get("comment", "")})
    return rows


def _wib_text(at: str | None) -> str:
    try:
        moment = datetime.fromisoformat(at or "")
    except ValueError:
        return "-"
    return wib(moment) if moment.tzinfo else "-"


def item_report_html(report: dict[str, Any]) -> str:
    """The item report as a page that opens offline (no script, no other file)."""
    return _document(f"Laporan item {report['item_id']}", item_report_body(report))


def item_report_body(report: dict[str, Any]) -> str:
    """The item report's content, for the stored file and for a page with the Humas stylesheet alike."""
    steps = "".join(
        f"<tr><td>{s['number']}. {escape(s['activity'])}</td><td>{escape(s['standard'])}</td>"
        f"<td>{escape(s['actual'])}</td><td>{_within_text(s['within'])}</td></tr>" for s in report["steps"])
    decisions = "".join(
        f"<tr><td>{escape(d['at_wib'])}</td><td>{escape(d['name'])} ({escape(d['role'])})</td>"
        f"<td>{escape(d['label'])}</td><td>{escape(d['comment'])}</td></tr>" for d in report["decisions"])
    posts = "".join(f"<li>{escape(str(p.get('channel')))}: {escape(str(p.get('permalink')))}</li>"
                    for p in report["posts"]) or "<li>(tidak ada)</li>"
    misses = "".join(f"<li>{escape(m)}</li>" for m in report["sla_misses"]) or "<li>(tidak ada)</li>"
    return (
        f"<p><b>{escape(report['title'])}</b><br>{escape(report['agency'])} — {escape(report['sop_title'])}<br>"
        f"Diterima {escape(_wib_text(report['received_at']))} · Hasil: {escape(report['outcome_label'])} "
        f"{escape(_wib_text(report['ended_at'])) if report['ended_at'] else ''}</p>{_refusal_html(report)}"
        "<h2>Waktu per langkah</h2><div class='table'><table><tr><th>Langkah</th><th>Waktu baku</th>"
        f"<th>Waktu nyata</th><th>Sesuai</th></tr>{steps}</table></div>"
        "<h2>Keputusan</h2><div class='table'><table><tr><th>Waktu</th><th>Oleh</th><th>Keputusan</th>"
        f"<th>Catatan</th></tr>{decisions}</table></div><h2>Link postingan</h2><ul>{posts}</ul>"
        f"<h2>Melewati waktu baku</h2><ul>{misses}</ul>")


def _refusal_html(report: dict[str, Any]) -> str:
    """Why a refused brief was refused: each problem with its field and fix."""
    if not report.get("refusal") and not report.get("problems"):
        return ""
    problems = "".join(f"<li>{escape(str(p.get('field', '')))}: {escape(str(p.get('message', '')))} "
                       f"(perbaikan: {escape(str(p.get('fix', '')))})</li>"
                       for p in report.get("problems", []) if isinstance(p, dict))
    return (f"<h2>Alasan ditolak</h2><p>{escape(report.get('refusal', ''))}</p>"
            + (f"<ul>{problems}</ul>" if problems else ""))


def _within_text(within: bool | None) -> str:
    return "-" if within is None else ("ya" if within else "<b class='late'>tidak</b>")


def _document(title: str, body: str) -> str:
    return ("<!doctype html><html lang='id'><head><meta charset='utf-8'><meta name='viewport' "
            "content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;max-width:60rem;margin:1rem auto;"
            "padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{border:1px solid #bbb;padding:.3rem;"
            "text-align:left;vertical-align:top}.late{color:#b00020}img{max-width:100%}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")


def write_item_report(store: "Store", item_id: str, sop: "Sop | None" = None) -> None:
    """Store the item's report beside it (JSON and HTML) as it ends; a failure is logged, never raised (the
    report is a record: it must not undo a post or a decision already made).

    ``sop``: the item's SOP; None (a brief refused before its run) looks it up from the brief's ``sop``.
    """
    try:
        sop = sop or _sop_of(store, item_id)
        report = item_report(store, item_id, sop, _roster_of(sop))
        store.put_json(layout.report_key(item_id, "json"), report)
        store.put_bytes(layout.report_key(item_id, "html"), item_report_html(report).encode(),
                        "text/html; charset=utf-8")
        progress.share_all(store, item_id, [layout.report_key(item_id, "html")], read_status(store, item_id))
    except Exception:  # noqa: BLE001
        log.exception("item %s: the item report could not be written (the item itself is unaffected)", item_id)


def _sop_of(store: "Store", item_id: str) -> "Sop | None":
    from humas.sop import available_sops

    record = read_record(store, item_id)
    return available_sops().get(record.sop_id) if record else None


def current_item_report(store: "Store", item_id: str, sops: "Mapping[str, Sop]",
                        only: str | None = None) -> dict[str, Any] | None:
    """The item's stored report while it still tells how the item stands, else one made now from its events.

    A refused brief may be fixed and its item started after all: its stored report then no longer holds.
    None when the item has no status, or (``only``: a SOP id) is of another SOP and has no stored report.
    """
    status = read_status(store, item_id)
    if not isinstance(status, dict):
        return None
    stored = store.get_json(layout.report_key(item_id, "json"))
    if isinstance(stored, dict) and stored.get("outcome") == status.get("state"):
        return stored
    record = read_record(store, item_id)
    if only is not None and (record is None or record.sop_id != only):
        return None
    sop = sops.get(record.sop_id) if record else None
    return item_report(store, item_id, sop, _roster_of(sop))


def _roster_of(sop: "Sop | None") -> "Roster | None":
    """The SOP's roster for names in a report; None when it does not load (names fall back to logins)."""
    try:
        return load_roster(sop) if sop else None
    except Exception:  # noqa: BLE001
        return None


# -- one agency, one month ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MonthlyReport:
    sop_id: str
    agency: str
    month: str                       # YYYY-MM
    counts: dict[str, int]
    per_step: list[dict[str, Any]]
    per_role: list[dict[str, Any]]
    misses: list[dict[str, Any]]
    rows: list[dict[str, Any]]       # one per item and step: the data behind the figures


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's, in WIB."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=WIB)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, following


def monthly_report(reports: Iterable[dict[str, Any]], sop: "Sop", month: str) -> MonthlyReport:
    """The month's figures from the item reports of one agency's items received in that month (WIB)."""
    start, end = month_bounds(month)
    items = [r for r in reports if r["sop"] == sop.id and r.get("received_at")
             and start <= datetime.fromisoformat(r["received_at"]) < end]
    counts = {"received": len(items)} | {s: sum(1 for r in items if r["outcome"] == s) for s in sorted(ENDINGS)}
    counts["open"] = counts["received"] - sum(counts[s] for s in ENDINGS)
    rows = [{"item_id": r["item_id"], "title": r["title"], **s} for r in items for s in r["steps"]
            if s["actual_seconds"] is not None]
    role_names = {role.id: role.name for role in sop.roles}
    per_step = [_figures(f"{st.number}. {st.activity}", [x for x in rows if x["task_id"] == st.task_id],
                         standard=st.time.describe()) for st in sop.steps]
    per_role = [_figures(role_names[role], [x for x in rows if x["role"] == role]) for role in role_names]
    misses = [{**x, "late_by": duration_words(timedelta(seconds=x["actual_seconds"] - x["standard_minutes"] * 60))}
              for x in rows if x["within"] is False]
    return MonthlyReport(sop.id, sop.agency, month, counts, per_step, per_role, misses, rows)


def _figures(name: str, rows: list[dict[str, Any]], standard: str = "") -> dict[str, Any]:
    """Median time and share within the standard time of some item steps."""
    times = [x["actual_seconds"] for x in rows]
    timed = [x for x in rows if x["within"] is not None]
    median = timedelta(seconds=statistics.median(times)) if times else None
    return {"name": name, "standard": standard, "count": len(rows),
            "median_seconds": int(median.total_seconds()) if median is not None else None,
            "median": duration_words(median) if median is not None else "-",
            "within_share": (sum(1 for x in timed if x["within"]) / len(timed)) if timed else None}


def month_label(month: str) -> str:
    start, _ = month_bounds(month)
    return f"{MONTHS[start.month - 1]} {start.year}"


def chart_png(report: MonthlyReport) -> bytes:
    """A bar chart of each step's share within its standard time, drawn here (no browser, no network)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    steps = [s for s in report.per_step if s["within_share"] is not None]
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.5 * max(len(steps), 1)), dpi=100)
    try:
        ax.barh([s["name"][:40] for s in steps], [100 * s["within_share"] for s in steps], color="#0b57d0")
        ax.set_xlim(0, 100)
        ax.set_xlabel("% sesuai waktu baku")
        ax.invert_yaxis()
        ax.set_title(f"{report.agency}: {month_label(report.month)}", fontsize=10)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{round(100 * share)}%"


def _figures_rows(rows: list[dict[str, Any]]) -> str:
    return "".join(f"<tr><td>{escape(r['name'])}</td><td>{escape(r['standard'] or '-')}</td><td>{r['count']}</td>"
                   f"<td>{escape(r['median'])}</td><td>{_percent(r['within_share'])}</td></tr>" for r in rows)


def monthly_html(report: MonthlyReport, chart: bytes) -> str:
    """The monthly report as one page that opens offline: the chart is inside it."""
    c, table = report.counts, _figures_rows
    head = "<tr><th></th><th>Waktu baku</th><th>Jumlah</th><th>Median</th><th>Sesuai waktu baku</th></tr>"
    misses = "".join(f"<tr><td>{escape(m['item_id'])}</td><td>{escape(m['title'])}</td><td>{m['number']}. "
                     f"{escape(m['activity'])}</td><td>{escape(m['standard'])}</td><td>{escape(m['actual'])}</td>"
                     f"<td class='late'>{escape(m['late_by'])}</td></tr>" for m in report.misses)
    return _document(f"Laporan kepatuhan SOP {report.agency}: {month_label(report.month)}", (
        f"<p>Diterima {c['received']} · diunggah {c['published']} · tidak disetujui {c['declined']} · "
        f"ditolak (brief tidak valid) {c['refused']} · belum selesai {c['open']}</p>"
        f"<img alt='Persentase sesuai waktu baku per langkah' src='data:image/png;base64,"
        f"{base64.b64encode(chart).decode()}'>"
        f"<h2>Per langkah</h2><table>{head}{table(report.per_step)}</table>"
        f"<h2>Per peran</h2><table>{head}{table(report.per_role)}</table>"
        "<h2>Melewati waktu baku</h2><table><tr><th>Item</th><th>Judul</th><th>Langkah</th><th>Waktu baku</th>"
        f"<th>Waktu nyata</th><th>Terlambat</th></tr>{misses or '<tr><td colspan=6>(tidak ada)</td></tr>'}</table>"))


CSV_COLUMNS = ("item_id", "title", "number", "activity", "role", "standard", "standard_minutes", "actual_seconds",
               "within")


def monthly_csv(report: MonthlyReport) -> bytes:
    """One row per item and step (the data behind the figures), for a spreadsheet."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(report.rows)
    return out.getvalue().encode("utf-8-sig")


def monthly_xlsx(report: MonthlyReport, chart: bytes) -> bytes:
    """The workbook: Ringkasan (counts and chart), Per langkah, Per peran, Pelanggaran, Data."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image

    book = Workbook()
    summary = book.active
    summary.title = "Ringkasan"
    summary.append([f"Laporan kepatuhan SOP {report.agency}", month_label(report.month)])
    for key, label in (("received", "Diterima"), ("published", "Diunggah"), ("declined", "Tidak disetujui"),
                       ("refused", "Ditolak (brief tidak valid)"), ("open", "Belum selesai")):
        summary.append([label, report.counts[key]])
    summary.add_image(Image(io.BytesIO(chart)), "D2")
    for title, rows in (("Per langkah", report.per_step), ("Per peran", report.per_role)):
        sheet = book.create_sheet(title)
        sheet.append(["Nama", "Waktu baku", "Jumlah", "Median (menit)", "Sesuai waktu baku (%)"])
        for r in rows:
            sheet.append([r["name"], r["standard"], r["count"],
                          None if r["median_seconds"] is None else round(r["median_seconds"] / 60, 1),
                          None if r["within_share"] is None else round(100 * r["within_share"], 1)])
    misses = book.create_sheet("Pelanggaran")
    misses.append(["Item", "Judul", "Langkah", "Waktu baku", "Waktu nyata (menit)", "Terlambat"])
    for m in report.misses:
        misses.append([m["item_id"], m["title"], f"{m['number']}. {m['activity']}", m["standard"],
                       round(m["actual_seconds"] / 60, 1), m["late_by"]])
    data = book.create_sheet("Data")
    data.append(list(CSV_COLUMNS))
    for row in report.rows:
        data.append([row.get(c) for c in CSV_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def item_reports(store: "Store", sop: "Sop") -> list[dict[str, Any]]:
    """The report of every item of ``sop``: the stored one of an ended item, else made now from its events."""
    found = []
    for folder in store.list_folders(layout.PIPELINE):
        item_id = folder[len(layout.PIPELINE):-1]
        if layout.ITEM_ID_PATTERN.fullmatch(item_id) and \
                (report := current_item_report(store, item_id, {sop.id: sop}, only=sop.id)):
            found.append(report)
    return found


def write_monthly_report(store: "Store", sop: "Sop", month: str) -> dict[str, str]:
    """Make one agency's report of one month and store it under ``reports/``; the keys written by type."""
    report = monthly_report(item_reports(store, sop), sop, month)
    chart = chart_png(report)
    files = {"html": (monthly_html(report, chart).encode(), "text/html; charset=utf-8"),
             "csv": (monthly_csv(report), "text/csv; charset=utf-8"),
             "xlsx": (monthly_xlsx(report, chart),
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    keys = {}
    for ext, (data, content_type) in files.items():
        keys[ext] = layout.monthly_report_key(sop.id, month, ext)
        store.put_bytes(keys[ext], data, content_type)
    return keys


def previous_month(moment: datetime) -> str:
    """``YYYY-MM`` of the month before ``moment`` (in WIB): what the monthly DAG reports on."""
    first = moment.astimezone(WIB).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")
