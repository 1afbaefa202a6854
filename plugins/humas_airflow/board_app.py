"""Papan Konten: the ops board of every item across agencies, in the Airflow UI (behind Airflow's sign-in).

Mounted by the API server at ``/humas-board``, for people allowed to edit the DAGs' runs (ops and admins: the
board shows every agency's items). Rows come from ``humas.board`` (the item index the approval page shares),
HTML from ``humas.pages``; this module only speaks HTTP.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from html import escape
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import get_user

from humas import layout, pages
from humas.board import BoardFilter, card_of, group_by_step, roster_lookup
from humas.reports import current_item_report, item_report_body
from humas.sop import available_sops

from humas_airflow.approval_app import INDEX, _store, security_headers

app = FastAPI(title="Papan Konten", description="Every content item across agencies: step, who acts, how late.")
app.middleware("http")(security_headers)


async def _ops(request: Request) -> Any:
    """The signed-in user if they may edit DAG runs; None when not signed in; 403 for anyone else."""
    from airflow.api_fastapi.app import get_auth_manager

    try:
        user = await get_user(request, None, None)
    except HTTPException:
        return None
    if not get_auth_manager().is_authorized_dag(method="PUT", access_entity=DagAccessEntity.RUN, user=user):
        raise HTTPException(403, "Papan Konten hanya untuk staf operasional (hak mengubah run DAG)")
    return user


def _login(request: Request) -> RedirectResponse:
    from airflow.api_fastapi.app import get_auth_manager

    return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)


def board_cards(filt: BoardFilter, now: datetime) -> tuple[list, int, dict]:
    """The board's rows under ``filt``, grouped by step; the number of items in all; the SOPs."""
    sops = available_sops()
    rosters = roster_lookup(sops)
    cards = [card_of(r, sops, rosters, now) for r in INDEX.records(_store())]
    return group_by_step(c for c in cards if filt.keeps(c)), len(cards), sops


def _filter(request: Request) -> BoardFilter:
    q = request.query_params
    return BoardFilter(q.get("agency", "")[:40], q.get("state", "")[:40], q.get("role", "")[:60],
                       q.get("late") == "1")


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    return int(text) if text.isdigit() and len(text) < 6 else 1


@app.get("/", response_class=HTMLResponse)
async def board(request: Request) -> Any:
    if await _ops(request) is None:
        return _login(request)
    now, filt = datetime.now(timezone.utc), _filter(request)
    groups, total, sops = await run_in_threadpool(board_cards, filt, now)  # a first fill must not hold up the server
    return HTMLResponse(pages.board_page(groups, filt, sops, total, now, _page_number(request), INDEX.as_of))


@app.get("/api/items")
async def board_json(request: Request) -> Any:
    if await _ops(request) is None:
        raise HTTPException(401, "sign in to Airflow first")
    groups, total, _ = board_cards(_filter(request), datetime.now(timezone.utc))
    return {"total": total, "groups": [{"title": t, "items": [
        {"item_id": c.item_id, "title": c.title, "sop": c.sop_id, "state": c.state, "step": c.step_words,
         "role": c.role_name, "holders": list(c.holders), "late": c.late, "time": c.time_words(),
         "since": c.since.isoformat() if c.since else None, "last_event": c.last_event} for c in rows]}
        for t, rows in groups]}


def _item(item_id: str) -> str:
    if not layout.ITEM_ID_PATTERN.fullmatch(item_id):
        raise HTTPException(404, "item tidak dikenal")
    return item_id


@app.get("/items/{item_id}/preview.jpg")
async def preview(item_id: str, request: Request) -> Response:
    if await _ops(request) is None:
        return _login(request)
    data = _store().get_bytes(layout.preview_key(_item(item_id)))
    return Response(data, media_type="image/jpeg") if data else Response(status_code=404)


@app.get("/items/{item_id}/{what}", response_class=HTMLResponse)
async def item_record(item_id: str, what: str, request: Request) -> Any:
    """The item's findings, receipt or report, as a page."""
    if await _ops(request) is None:
        return _login(request)
    store, item_id = _store(), _item(item_id)
    titles = {"findings": "Temuan desain", "receipt": "Tanda terima", "report": "Laporan item"}
    if what == "report":
        return await run_in_threadpool(_report_page, store, item_id, titles[what])
    keys = {"findings": layout.findings_key(item_id, "md"), "receipt": layout.receipt_key(item_id)}
    if what not in keys:
        raise HTTPException(404, "tidak ada halaman itu")
    data = store.get_bytes(keys[what])
    if data is None:
        return HTMLResponse(pages.message_page(titles[what], f"Item {item_id} belum punya {titles[what].lower()}."),
                            404)
    text = data.decode("utf-8", "replace")
    if what == "receipt":
        return HTMLResponse(pages.page(f"{titles[what]}: {item_id}", _receipt_html(json.loads(text))))
    return HTMLResponse(pages.page(f"{titles[what]}: {item_id}", f"<pre>{escape(text)}</pre>"))


def _report_page(store: Any, item_id: str, title: str) -> HTMLResponse:
    """The item's report with the Humas stylesheet (the stored file styles itself inline, which the pages'
    Content-Security-Policy forbids); made from its events when the item has not ended."""
    report = current_item_report(store, item_id, available_sops())
    if report is None:
        return HTMLResponse(pages.message_page(title, f"Item {item_id} belum punya {title.lower()}."), 404)
    return HTMLResponse(pages.page(f"{title}: {item_id}", item_report_body(report)))


def _receipt_html(receipt: dict[str, Any]) -> str:
    posts = "".join(f"<li>{escape(str(p.get('channel')))}: <a href='{escape(str(p.get('permalink')))}' "
                    f"rel='noreferrer' target='_blank'>{escape(str(p.get('permalink')))}</a></li>"
                    for p in receipt.get("posts", []))
    return f"<p>{escape(str(receipt.get('title', '')))}</p><ul>{posts}</ul>"
