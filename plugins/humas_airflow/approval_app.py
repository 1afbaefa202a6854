"""The approval page (Airflow UI, behind Airflow's own sign-in) and its JSON API for ``humas approve``.

Mounted by the API server at ``/humas``. Who decides comes from Airflow's authentication (the UI's session
cookie, or a bearer token from ``POST /auth/token``); the roster says which gates they may decide; the
decision is signed here with ``HUMAS_APPROVAL_KEY`` and written as the gate's flag. The work is in
``humas.approval_service``; this module only speaks HTTP and HTML.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from html import escape
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from airflow.api_fastapi.core_api.security import get_user

from humas.approval import decision_label, signing_key
from humas.approval_service import PendingReview, decide, pending_review, safe_pending, waiting_items
from humas.exceptions import ApprovalRefused, HumasError
from humas.platforms import post_text

from humas_airflow.hooks import APPROVALS_CONN_ID, HumasBucketHook

app = FastAPI(title="Persetujuan Humas", description="Approve, send back or decline content items.")


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


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html lang='id'><head><meta charset='utf-8'><title>{escape(title)}</title>"
                        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
                        "img{max-width:100%;border:1px solid #ccc}pre{white-space:pre-wrap;background:#f4f4f4;"
                        "padding:1rem}.refused{color:#a00}button{margin-right:1rem;padding:.5rem 1rem}</style>"
                        f"</head><body><p><a href='/humas/approvals'>Persetujuan Humas</a> · <a href='/'>Airflow</a>"
                        f"</p><h1>{escape(title)}</h1>{body}</body></html>", status_code=status_code)


def _summary(pending: PendingReview) -> dict[str, Any]:
    brief = pending.brief
    return {"item_id": pending.item_id, "sop": pending.sop.id, "gate": pending.step.task_id,
            "step": pending.step.number, "activity": pending.step.activity,
            "role": pending.sop.role(pending.step.actor).name, "decisions": list(pending.decisions),
            "review_digest": pending.review.digest, "title": brief.title, "caption": brief.caption,
            "posts": {c: post_text(brief.caption, pending.item_id, c, (brief.placements or {}).get(c))
                      for c in brief.channels},
            "channels": list(brief.channels), "labels": list(getattr(brief, "labels", ())),
            "submitter": _name(pending, brief.submitter), "has_preview": pending.preview is not None}


def _name(pending: PendingReview, person_id: str) -> str:
    person = pending.roster.person(person_id)
    return f"{person.name} ({person_id})" if person else person_id


@app.get("/approvals", response_class=HTMLResponse)
async def list_page(request: Request) -> Any:
    person = await _person(request)
    if person is None:
        return _login(request)
    rows, store = [], _store()
    for item_id, status in waiting_items(store):
        pending = safe_pending(store, item_id)
        mine = isinstance(pending, PendingReview) and not pending.refusal(person)
        who = pending.sop.role(pending.step.actor).name if isinstance(pending, PendingReview) else pending
        rows.append(f"<tr><td><a href='/humas/approvals/{escape(item_id)}'>{escape(item_id)}</a></td>"
                    f"<td>{escape(str(status.get('step')))}: {escape(status.get('message', '')[:80])}</td>"
                    f"<td>{escape(who)}</td>"
                    f"<td>{'✔ Anda' if mine else ''}</td></tr>")
    table = ("<table><tr><th>Item</th><th>Langkah</th><th>Diputuskan oleh</th><th></th></tr>" + "".join(rows)
             + "</table>") if rows else "<p>Tidak ada item yang menunggu keputusan.</p>"
    return _page(f"Menunggu keputusan — masuk sebagai {person}", table)


@app.get("/approvals/{item_id}", response_class=HTMLResponse)
async def item_page(item_id: str, request: Request) -> Any:
    person = await _person(request)
    if person is None:
        return _login(request)
    try:
        pending = pending_review(_store(), item_id)
    except (ApprovalRefused, HumasError) as exc:
        return _page(item_id, f"<p class='refused'>{escape(str(exc))}</p>", 409)
    s = _summary(pending)
    preview = (f"<img alt='pratinjau' src='data:image/jpeg;base64,{base64.b64encode(pending.preview).decode()}'>"
               if pending.preview else "<p>(Belum ada desain pada langkah ini: tinjau ide dan narasinya.)</p>")
    refusal = pending.refusal(person)
    if refusal:
        form = f"<p class='refused'>Anda tidak dapat memutuskan langkah ini: {escape(refusal)}</p>"
    else:
        buttons = "".join(f"<button name='decision' value='{d}'>{escape(decision_label(d))}</button>"
                          for d in pending.decisions)
        form = (f"<form method='post'><input type='hidden' name='gate' value='{escape(s['gate'])}'>"
                f"<input type='hidden' name='review_digest' value='{s['review_digest']}'>"
                f"<input type='hidden' name='form_token' value='{_form_token(person, item_id, s['review_digest'])}'>"
                "<p><label>Catatan (wajib untuk revisi/tolak)<br><textarea name='comment' rows='3' cols='70'>"
                f"</textarea></label></p>{buttons}</form>")
    body = (f"<p>Langkah {s['step']}: <b>{escape(s['activity'])}</b> — oleh {escape(s['role'])}. "
            f"Diajukan oleh {escape(s['submitter'])}. Kanal: {escape(', '.join(s['channels']))}.</p>"
            f"<h2>{escape(s['title'])}</h2>"
            + "".join(f"<h3>{escape(channel)}</h3><pre>{escape(text) or '(story: tanpa teks)'}</pre>"
                      for channel, text in s["posts"].items())
            + f"{preview}"
            f"<p><small>Versi yang ditinjau: {s['review_digest'][:16]}</small></p>{form}")
    return _page(f"Persetujuan: {item_id}", body)


@app.post("/approvals/{item_id}", response_class=HTMLResponse)
async def item_decide(item_id: str, request: Request, gate: Annotated[str, Form()],
                      decision: Annotated[str, Form()], review_digest: Annotated[str, Form()],
                      form_token: Annotated[str, Form()], comment: Annotated[str, Form()] = "") -> Any:
    person = await _person(request)
    if person is None:
        return _login(request)
    if not hmac.compare_digest(form_token, _form_token(person, item_id, review_digest)):
        return _page(item_id, "<p class='refused'>Formulir kedaluwarsa atau bukan dari halaman ini; "
                              "buka lagi halaman item.</p>", 403)
    try:
        flag = _decide(item_id, person, gate, decision, review_digest, comment)
    except ApprovalRefused as exc:
        return _page(item_id, f"<p class='refused'>{escape(str(exc))}</p>", 409)
    return _page(item_id, f"<p>Keputusan <b>{escape(decision_label(flag.decision))}</b> tercatat untuk "
                          f"{escape(flag.gate)}. Pipeline melanjutkan dalam beberapa detik.</p>")


class DecisionBody(BaseModel):
    gate: str = Field(max_length=80)
    decision: str = Field(max_length=20)
    review_digest: str = Field(max_length=64)
    comment: str = Field(default="", max_length=2000)


def _bearer_person(user: Any = Depends(get_user)) -> str:
    return user.get_name()


@app.get("/api/approvals/{item_id}")
def item_json(item_id: str, person: Annotated[str, Depends(_bearer_person)]) -> Any:
    try:
        pending = pending_review(_store(), item_id)
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
    pending = pending_review(store, item_id)
    if pending.step.task_id != gate:
        raise ApprovalRefused(f"item {item_id} sekarang menunggu {pending.step.task_id}, bukan {gate}; muat ulang")
    return decide(store, pending, person, decision, digest, signing_key(), datetime.now(timezone.utc), comment)
