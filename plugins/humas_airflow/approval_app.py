"""The approver inbox and item page (Airflow UI, behind Airflow's own sign-in) and their JSON API for
``humas approve``.

Mounted by the API server at ``/humas``. Who decides comes from Airflow's authentication (the UI's session
cookie, or a bearer token from ``POST /auth/token``); the roster says which agencies' items they see and
which gates they may decide; the decision is signed here with ``HUMAS_APPROVAL_KEY`` and written as the
gate's flag. The work is in ``humas.approval_service``, ``humas.board`` and ``humas.pages``; this module
only speaks HTTP.
"""
from __future__ import annotations

import hashlib
import hmac
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated, Any, AsyncIterator

from fastapi import Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from airflow.api_fastapi.core_api.security import get_user

from humas import layout, pages
from humas.approval import decision_label, signing_key
from humas.approval_service import PendingReview, decide, in_scope, pending_for, posts_of
from humas.board import ItemIndex, agencies_of, card_of, inbox, roster_lookup
from humas.exceptions import ApprovalRefused, HumasError
from humas.resources import include_dir
from humas.sop import available_sops
from humas.thumbnails import ThumbnailCache

from humas_airflow.hooks import APPROVALS_CONN_ID, HumasBucketHook

INDEX = ItemIndex(snapshot_key=layout.ITEM_INDEX_KEY)
THUMBNAILS = ThumbnailCache()


@asynccontextmanager
async def warm_index(app: FastAPI) -> AsyncIterator[None]:
    """At API server start, fill the item index in the background (start-up does not wait for it).

    Airflow's API server enters the lifespan of every FastAPI app mounted in it (``airflow.api_fastapi.app.
    lifespan``, checked in tests/integration/test_item_index.py); the scheduler, workers and triggerer import this
    module but never start the app, so they read nothing.
    """
    INDEX.warm(lambda: _store())
    yield


app = FastAPI(title="Persetujuan Humas", description="Approve, send back or decline content items.",
              lifespan=warm_index)


@app.middleware("http")
async def security_headers(request: Request, call_next: Any) -> Response:
    """CSP, framing and no-store on every response of the app."""
    response = await call_next(request)
    for name, value in pages.SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _store():
    return HumasBucketHook(APPROVALS_CONN_ID).get_store()  # writes approvals/ only; the bucket enforces it


async def _person(request: Request) -> str | None:
    """The signed-in Airflow user's login, or None (the page then sends them to Airflow's sign-in)."""
    try:
        user = await get_user(request, None, None)
    except HTTPException:
        return None
    return user.get_name()


def _form_token(person: str, item_id: str, digest: str) -> str:
    """Ties a form post to the page this person was shown (a cross-site post has no such token)."""
    return hmac.new(signing_key(), f"form|{person}|{item_id}|{digest}".encode(), hashlib.sha256).hexdigest()


def _login(request: Request) -> RedirectResponse:
    from airflow.api_fastapi.app import get_auth_manager

    return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)


def _html(text: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status_code)


@app.get("/static/humas.css")
def stylesheet() -> FileResponse:
    """The one stylesheet of the Humas pages (served here: offices may be offline, no CDN)."""
    return FileResponse(include_dir() / "web" / "humas.css", media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})


def inbox_rows(person: str, now: datetime) -> list:
    """The person's inbox rows from the shared item index (no bucket request once it is warm)."""
    sops = available_sops()
    rosters = roster_lookup(sops)
    cards = [card_of(r, sops, rosters, now) for r in INDEX.records(_store())]
    return inbox(cards, person, agencies_of(person, sops, rosters), rosters)


@app.get("/approvals", response_class=HTMLResponse)
async def list_page(request: Request) -> Any:
    person = await _person(request)
    if person is None:
        return _login(request)
    now = datetime.now(timezone.utc)
    rows = await run_in_threadpool(inbox_rows, person, now)  # a first fill must not hold up the API server
    return _html(pages.inbox_page(person, rows, now, INDEX.as_of))


@app.get("/approvals/{item_id}/thumb.jpg")
async def thumbnail(item_id: str, request: Request) -> Response:
    """A small thumbnail of the item's preview, for the inbox card (only for people of the item's agency)."""
    person = await _person(request)
    if person is None or not layout.ITEM_ID_PATTERN.fullmatch(item_id):
        return Response(status_code=404)
    found = await run_in_threadpool(_thumbnail, item_id, person)
    if found is None:
        return Response(status_code=404)
    data, version = found
    headers = {"Cache-Control": "private, max-age=300", "ETag": f'"{version}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)


def _thumbnail(item_id: str, person: str) -> tuple[bytes, str] | None:
    store = _store()
    if not in_scope(store, item_id, person, INDEX.known(item_id)):
        return None
    return THUMBNAILS.get(store, item_id)


def _card(pending: PendingReview, now: datetime):
    record = next((r for r in INDEX.records(_store()) if r.item_id == pending.item_id), None)
    sops = available_sops()
    return card_of(record, sops, roster_lookup(sops), now) if record else None


@app.get("/approvals/{item_id}", response_class=HTMLResponse)
async def item_page(item_id: str, request: Request) -> Any:
    person = await _person(request)
    if person is None:
        return _login(request)
    try:
        pending = pending_for(_store(), item_id, person)
    except (ApprovalRefused, HumasError) as exc:
        return _html(pages.message_page("Persetujuan", str(exc), refused=True), 409)
    now = datetime.now(timezone.utc)
    token = _form_token(person, item_id, pending.review.digest)
    return _html(pages.item_page(pending, _card(pending, now), pending.refusal(person), token, posts_of(pending), now))


@app.post("/approvals/{item_id}", response_class=HTMLResponse)
async def item_decide(item_id: str, request: Request, gate: Annotated[str, Form()],
                      decision: Annotated[str, Form()], review_digest: Annotated[str, Form()],
                      form_token: Annotated[str, Form()], comment: Annotated[str, Form()] = "",
                      confirm: Annotated[str, Form()] = "") -> Any:
    person = await _person(request)
    if person is None:
        return _login(request)
    if not hmac.compare_digest(form_token, _form_token(person, item_id, review_digest)):
        return _html(pages.message_page("Persetujuan", "Formulir kedaluwarsa atau bukan dari halaman ini; buka lagi "
                                                       "halaman item.", refused=True), 403)
    try:
        if decision == "decline" and confirm != "yes" and comment.strip():
            pending = pending_for(_store(), item_id, person)
            return _html(pages.confirm_decline_page(pending, comment, form_token))
        flag = _decide(item_id, person, gate, decision, review_digest, comment)
    except ApprovalRefused as exc:
        return _html(pages.message_page("Persetujuan", str(exc), refused=True), 409)
    return _html(pages.message_page("Keputusan tercatat", f"Keputusan {decision_label(flag.decision)} tercatat. "
                                                          "Pipeline melanjutkan dalam beberapa detik."))


class DecisionBody(BaseModel):
    gate: str = Field(max_length=80)
    decision: str = Field(max_length=20)
    review_digest: str = Field(max_length=64)
    comment: str = Field(default="", max_length=2000)


def _bearer_person(user: Any = Depends(get_user)) -> str:
    return user.get_name()


def _summary(pending: PendingReview) -> dict[str, Any]:
    brief = pending.brief
    return {"item_id": pending.item_id, "sop": pending.sop.id, "gate": pending.step.task_id,
            "step": pending.step.number, "activity": pending.step.activity,
            "role": pending.sop.role(pending.step.actor).name, "decisions": list(pending.decisions),
            "review_digest": pending.review.digest, "title": brief.title, "caption": brief.caption,
            "description": brief.description, "posts": posts_of(pending), "channels": list(brief.channels),
            "labels": list(getattr(brief, "labels", ())), "submitter": brief.submitter,
            "has_preview": pending.preview is not None}


@app.get("/api/approvals")
def inbox_json(person: Annotated[str, Depends(_bearer_person)]) -> Any:
    """The person's inbox as JSON: their own agencies' waiting items, the ones they may decide first."""
    rows = inbox_rows(person, datetime.now(timezone.utc))
    return {"you": person, "items": [{"item_id": c.item_id, "title": c.title, "sop": c.sop_id, "step": c.step_words,
                                      "role": c.role_name, "yours": mine, "late": c.late, "time": c.time_words()}
                                     for c, mine in rows]}


@app.get("/api/approvals/{item_id}")
def item_json(item_id: str, person: Annotated[str, Depends(_bearer_person)]) -> Any:
    try:
        pending = pending_for(_store(), item_id, person)
    except (ApprovalRefused, HumasError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return {**_summary(pending), "you": person, "refusal": pending.refusal(person)}


@app.post("/api/approvals/{item_id}")
def item_decide_json(item_id: str, body: DecisionBody, person: Annotated[str, Depends(_bearer_person)]) -> Any:
    try:
        flag = _decide(item_id, person, body.gate, body.decision, body.review_digest, body.comment)
    except ApprovalRefused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return {"item_id": flag.item_id, "gate": flag.gate, "decision": flag.decision, "person": flag.person,
            "at": flag.at}


def _decide(item_id: str, person: str, gate: str, decision: str, digest: str, comment: str):
    store = _store()
    pending = pending_for(store, item_id, person)
    if pending.step.task_id != gate:
        raise ApprovalRefused(f"item {item_id} sekarang menunggu langkah {pending.step.number}, bukan {gate}; "
                              "muat ulang halaman")
    flag = decide(store, pending, person, decision, digest, signing_key(), datetime.now(timezone.utc), comment)
    INDEX.forget(item_id)
    return flag
