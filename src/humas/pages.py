"""The HTML staff read: the approver inbox, the item page, the decline confirmation and the ops board.

Plain functions from rows to HTML (every value escaped), in Bahasa Indonesia, times in WIB and durations in
words; no script at all (the pages' Content-Security-Policy forbids it), one stylesheet served by the app.
The FastAPI modules only call these.
"""
from __future__ import annotations

import base64
from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Iterable
from urllib.parse import quote, urlencode

from humas.approval import decision_label
from humas.status import STATE_LABELS
from humas.timetext import duration_words, wib

if TYPE_CHECKING:
    from humas.approval_service import PendingReview
    from humas.board import BoardFilter, Card
    from humas.sop import Sop

STYLESHEET = "/humas/static/humas.css"
STALE_AFTER = timedelta(minutes=1)   # the item index refreshes every 15 s; older rows are worth a note
BOARD_PAGE_ROWS = 50                 # rows per board page: small enough for a phone
INBOX = "/humas/approvals"
BOARD = "/humas-board/"
# The headers of every Humas page: no script, no other origin, framed only by the Airflow UI itself.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                                "frame-ancestors 'self'; base-uri 'none'"),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def page(title: str, body: str) -> str:
    """A whole page: the nav (inbox, board, Airflow) and ``body``."""
    return ("<!doctype html><html lang='id'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><link rel='stylesheet' href='{STYLESHEET}'></head><body>"
            f"<nav class='top' aria-label='Navigasi'><a href='{INBOX}' target='_top'>Persetujuan Humas</a>"
            f"<a href='{BOARD}' target='_top'>Papan Konten</a><a href='/' target='_top'>Airflow</a></nav>"
            f"<main><h1>{escape(title)}</h1>{body}</main></body></html>")


def message_page(title: str, text: str, refused: bool = False) -> str:
    return page(title, f"<p class='{'refused' if refused else 'ok'}' role='status'>{escape(text)}</p>"
                       f"<p><a href='{INBOX}'>Kembali ke daftar</a></p>")


def stale_note(as_of: datetime | None, now: datetime) -> str:
    """Says so when the rows are older than usual (just after a restart, while the list catches up)."""
    if as_of is None or now - as_of <= STALE_AFTER:
        return ""
    return (f"<p class='refused' role='status'>Daftar ini keadaan {escape(wib(as_of))} dan sedang diperbarui; "
            "muat ulang halaman sebentar lagi.</p>")


def _time_html(card: "Card") -> str:
    words = card.time_words()
    if not words:
        return ""
    return f"<span class='{'late' if card.late else 'ok'}'>{escape(words.capitalize())}</span>"


def _since(card: "Card", now: datetime) -> str:
    if card.since is None:
        return "-"
    ago = max(now - card.since, now - now)
    return f"{wib(card.since)} ({duration_words(ago)} lalu)"


def inbox_card(card: "Card", mine: bool, now: datetime) -> str:
    """One waiting item as a card: thumbnail, title, agency, step, submitter, waiting since, time left or late."""
    href = f"{INBOX}/{quote(card.item_id)}"
    badge = "<span class='badge you'>Keputusan Anda</span> " if mine else ""
    return (f"<li class='card{' mine' if mine else ''}'><img class='thumb' alt='' loading='lazy' "
            f"src='{href}/thumb.jpg' width='72' height='72'><div class='body'>"
            f"<h2><a href='{href}'>{escape(card.title)}</a></h2>"
            f"<p class='meta'>{badge}{escape(card.agency)}</p>"
            f"<p class='meta'>Langkah {escape(card.step_words)} — {escape(card.role_name)}</p>"
            f"<p class='meta'>Diajukan oleh {escape(card.submitter)} · menunggu sejak {escape(_since(card, now))}</p>"
            f"<p class='meta'>{_time_html(card)}</p></div></li>")


def inbox_page(person: str, rows: list[tuple["Card", bool]], now: datetime, as_of: datetime | None = None) -> str:
    """The approver's inbox: their own agencies' waiting items, the ones they may decide first."""
    mine = sum(1 for _, m in rows if m)
    intro = (f"<p>Masuk sebagai <b>{escape(person)}</b>. {mine} item menunggu keputusan Anda, "
             f"{len(rows) - mine} lainnya menunggu rekan di instansi Anda.</p>{stale_note(as_of, now)}")
    if not rows:
        return page("Menunggu keputusan", intro + "<p>Tidak ada item yang menunggu keputusan di instansi Anda.</p>")
    cards = "".join(inbox_card(card, m, now) for card, m in rows)
    return page("Menunggu keputusan", f"{intro}<ul class='cards'>{cards}</ul>")


def decision_form(pending: "PendingReview", form_token: str) -> str:
    """The decision, at the top of the item page: a comment and one button per decision the gate offers."""
    hidden = _hidden(pending.step.task_id, pending.review.digest, form_token)
    buttons = "".join(f"<button type='submit' name='decision' value='{d}' class='{d}'>"
                      f"{escape(decision_label(d))}</button>" for d in pending.decisions)
    return (f"<section class='decision' aria-labelledby='keputusan'><h2 id='keputusan'>Keputusan Anda</h2>"
            f"<form method='post'>{hidden}<label for='comment'>Catatan (wajib untuk revisi dan tolak)</label>"
            "<textarea id='comment' name='comment' rows='3' maxlength='2000'></textarea>"
            f"<div class='buttons'>{buttons}</div>"
            "<p><small>Tolak meminta konfirmasi sebelum dicatat.</small></p></form></section>")


def _hidden(gate: str, digest: str, form_token: str) -> str:
    return (f"<input type='hidden' name='gate' value='{escape(gate)}'>"
            f"<input type='hidden' name='review_digest' value='{escape(digest)}'>"
            f"<input type='hidden' name='form_token' value='{escape(form_token)}'>")


def item_page(pending: "PendingReview", card: "Card | None", refusal: str, form_token: str,
              posts: dict[str, str], now: datetime) -> str:
    """The item page: the decision (or why this person may not decide) first, then the preview and the text."""
    role = pending.sop.role(pending.step.actor).name
    top = (f"<p class='refused' role='alert'>Anda tidak dapat memutuskan langkah ini: {escape(refusal)}</p>"
           if refusal else decision_form(pending, form_token))
    timing = f" · {_time_html(card)}" if card and card.time_words() else ""
    meta = (f"<p class='meta'>{escape(pending.sop.agency)} · Langkah {pending.step.number}: "
            f"{escape(pending.step.activity)} — oleh {escape(role)}</p>"
            f"<p class='meta'>Diajukan oleh {escape(_name(pending, pending.brief.submitter))}"
            + (f" · menunggu sejak {escape(_since(card, now))}" if card else "") + f"{timing}</p>")
    preview = (f"<section class='preview'><h2>Pratinjau</h2><img alt='Pratinjau desain {escape(pending.brief.title)}' "
               f"src='data:image/jpeg;base64,{base64.b64encode(pending.preview).decode()}'></section>"
               if pending.preview else "<p>(Belum ada desain pada langkah ini: tinjau ide dan narasinya.)</p>")
    idea = f"<h2>Ide</h2><p>{escape(pending.brief.description)}</p>" if pending.brief.description else ""
    texts = "".join(f"<h2>Teks untuk {escape(channel)}</h2><pre>{escape(text) or '(story: tanpa teks)'}</pre>"
                    for channel, text in posts.items())
    return page(pending.brief.title, f"{meta}{top}{idea}{preview}{texts}"
                f"<p><small>Versi yang ditinjau: {escape(pending.review.digest[:16])}</small></p>")


def _name(pending: "PendingReview", person_id: str) -> str:
    person = pending.roster.person(person_id)
    return person.name if person else person_id


def confirm_decline_page(pending: "PendingReview", comment: str, form_token: str) -> str:
    """Declining ends the item: ask once more, showing the reason that will be recorded."""
    hidden = _hidden(pending.step.task_id, pending.review.digest, form_token)
    return page(f"Tolak {pending.brief.title}?", (
        "<p class='refused' role='alert'>Menolak mengakhiri item ini: konten tidak akan diunggah.</p>"
        f"<p>Alasan yang dicatat:</p><pre>{escape(comment)}</pre>"
        f"<form method='post'>{hidden}<input type='hidden' name='comment' value='{escape(comment)}'>"
        "<input type='hidden' name='confirm' value='yes'><div class='buttons'>"
        "<button type='submit' name='decision' value='decline' class='decline' autofocus>Ya, tolak item ini</button>"
        f"<a class='button cancel' href='{INBOX}/{quote(pending.item_id)}'>Batal</a></div></form>"))


def board_page(groups: list[tuple[str, list["Card"]]], filt: "BoardFilter", sops: dict[str, "Sop"],
               total: int, now: datetime, page_number: int = 1, as_of: datetime | None = None) -> str:
    """Papan Konten: every item across agencies, filterable, grouped by step, ``BOARD_PAGE_ROWS`` rows a page."""
    shown = sum(len(rows) for _, rows in groups)
    late = sum(1 for _, rows in groups for c in rows if c.late)
    pages_count = max(1, -(-shown // BOARD_PAGE_ROWS))
    page_number = min(max(page_number, 1), pages_count)
    summary = (f"<p>{shown} dari {total} item · <span class='late'>{late} terlambat</span> · "
               f"{escape(wib(as_of or now))}</p>{stale_note(as_of, now)}")
    nav = _page_links(filt, page_number, pages_count)
    body = "".join(f"<section class='group'><h2>{escape(title)} ({count})</h2><ul class='cards'>"
                   + "".join(board_row(c, now) for c in rows) + "</ul></section>"
                   for title, rows, count in page_of(groups, page_number))
    return page("Papan Konten", _filters(filt, sops) + summary + nav
                + (body or "<p>Tidak ada item yang cocok.</p>") + nav)


def page_of(groups: list[tuple[str, list["Card"]]], page_number: int,
            per_page: int = BOARD_PAGE_ROWS) -> list[tuple[str, list["Card"], int]]:
    """The rows of one page, still under their group's title, with each group's count in all."""
    start, end, seen, out = (page_number - 1) * per_page, page_number * per_page, 0, []
    for title, rows in groups:
        part = rows[max(start - seen, 0):max(end - seen, 0)]
        if part:
            out.append((title, part, len(rows)))
        seen += len(rows)
    return out


def _page_links(filt: "BoardFilter", page_number: int, pages_count: int) -> str:
    if pages_count == 1:
        return ""
    query = {k: v for k, v in (("agency", filt.agency), ("state", filt.state), ("role", filt.role),
                                ("late", "1" if filt.late else "")) if v}
    def link(number: int, label: str) -> str:
        return f"<a href='?{escape(urlencode({**query, 'page': number}))}'>{label}</a>"
    back = link(page_number - 1, "‹ Sebelumnya") if page_number > 1 else ""
    forward = link(page_number + 1, "Berikutnya ›") if page_number < pages_count else ""
    return (f"<nav class='pages' aria-label='Halaman'>{back}<span>Halaman {page_number} dari {pages_count}</span>"
            f"{forward}</nav>")


def board_row(card: "Card", now: datetime) -> str:
    """One item on the board: state, who acts now, time against the standard, last event, links."""
    item = quote(card.item_id)
    who = ", ".join(card.holders) or "-"
    state_class = card.state if card.state in ("declined", "refused", "published") else ""
    links = [(f"/dags/{quote(card.dag_id)}/runs/{quote(card.run_id)}", "Run di Airflow")] if card.dag_id else []
    links += [(f"{BOARD}items/{item}/{what}", label) for what, label in
              (("findings", "Temuan desain"), ("preview.jpg", "Pratinjau"), ("receipt", "Tanda terima"),
               ("report", "Laporan item"))]
    anchors = "".join(f"<a href='{href}' target='_top'>{escape(label)}</a>" for href, label in links)
    timing = _time_html(card)
    return (f"<li class='card'><div class='body'><h2>{escape(card.title)}</h2>"
            f"<p class='meta'><span class='badge {state_class}'>{escape(card.state_label)}</span> "
            f"{escape(card.agency)}</p>"
            + ("<p class='meta'>Selesai: tidak ada yang perlu bertindak</p>" if card.finished else
               f"<p class='meta'>Bertindak sekarang: {escape(card.role_name)} ({escape(who)})</p>") +
            f"<p class='meta'>Di langkah ini sejak {escape(_since(card, now))} · waktu baku "
            f"{escape(card.standard or '-')}{' · ' + timing if timing else ''}</p>"
            f"<p class='meta'>Terakhir: {escape(card.last_event[:300])}</p>"
            f"<p class='links'>{anchors}</p></div></li>")


def _filters(filt: "BoardFilter", sops: dict[str, "Sop"]) -> str:
    agencies = [("", "Semua instansi")] + sorted((s.id, s.agency) for s in sops.values())
    states = [("", "Semua status"), ("open", "Belum selesai"), ("waiting", "Menunggu keputusan"),
              ("finished", "Selesai")] + [(k, v) for k, v in STATE_LABELS.items()]
    roles = [("", "Semua peran")] + sorted({(r.id, r.name) for s in sops.values() for r in s.roles},
                                          key=lambda pair: pair[1])
    late = (f"<label><input type='checkbox' name='late' value='1'{' checked' if filt.late else ''}> "
            "Hanya yang terlambat</label>")
    return ("<form class='filters' method='get'>" + _select("agency", "Instansi", agencies, filt.agency)
            + _select("state", "Status", states, filt.state) + _select("role", "Peran", roles, filt.role)
            + late + "<button type='submit'>Saring</button></form>")


def _select(name: str, label: str, options: Iterable[tuple[str, str]], chosen: str) -> str:
    opts = "".join(f"<option value='{escape(v)}'{' selected' if v == chosen else ''}>{escape(t)}</option>"
                   for v, t in options)
    return f"<div><label for='f-{name}'>{escape(label)}</label><select id='f-{name}' name='{name}'>{opts}</select></div>"


