"""The receiving ends of the notifications: Telegram's Bot API ``sendMessage``, WhatsApp Cloud API's
``/{phone-number-id}/messages`` and an SMTP server (aiosmtpd), all recording what they received.

``GET /_sandbox/messages`` lists every message as JSON (channel, to, subject, text, item, kind, at, and for an
email its MIME ``parts``, e.g. "multipart/alternative: text/plain, text/html"; filter with
``?item=`` / ``?kind=`` / ``?channel=``), ``GET /_sandbox/messages/page`` as a page a person can read. The
item and kind come from the ``X-Humas-Item`` / ``X-Humas-Kind`` headers the pipeline sends (the real services
ignore them). Messages are kept in memory and, with a state file, appended to ``<state>.messages.jsonl``.
"""
from __future__ import annotations

import hmac
import json
import logging
import math
import re
import threading
import time
from collections import deque
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape, unescape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from humas_dev.sandbox.wire import ApiError, Request, Response

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller

    from humas_dev.sandbox.config import Sandbox

log = logging.getLogger("humas_dev.sandbox")
FIELDS = ("channel", "to", "subject", "text", "item", "kind", "at")


class MessageLog:
    """Every message received, oldest first; thread-safe (HTTP threads and the SMTP loop both add)."""

    def __init__(self, journal: Path | None = None) -> None:
        self.lock = threading.Lock()
        self.journal = journal
        self.items: list[dict[str, str]] = []
        if journal and journal.exists():
            self.items = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]

    def add(self, channel: str, to: str, subject: str, text: str, item: str, kind: str,
            **extra: str) -> dict[str, str]:
        """Record one received message (``extra``: what only some channels have, e.g. an email's ``parts``)."""
        entry = {"channel": channel, "to": to, "subject": subject, "text": text, "item": item, "kind": kind,
                 "at": datetime.now(timezone.utc).isoformat(), **extra}
        with self.lock:
            self.items.append(entry)
            if self.journal:
                with self.journal.open("a") as out:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return entry

    def select(self, **wanted: str | None) -> list[dict[str, str]]:
        """The messages whose fields equal every given (non-empty) value."""
        with self.lock:
            return [m for m in self.items if all(not v or m.get(k) == v for k, v in wanted.items())]

    def clear(self) -> None:
        with self.lock:
            self.items = []
            if self.journal and self.journal.exists():
                self.journal.unlink()


def journal_for(state_file: Path | None) -> Path | None:
    return state_file.with_name(state_file.name + ".messages.jsonl") if state_file else None


def _tags(req: Request) -> tuple[str, str]:
    return req.headers.get("X-Humas-Item", "") or "", req.headers.get("X-Humas-Kind", "") or ""


class ChatLimit:
    """How many messages each chat took lately: a chat past the sandbox's ``chat_limit`` is refused (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[tuple[str, str], deque[float]] = {}

    def wait_for(self, app: "Sandbox", channel: str, to: str) -> int:
        """0 when ``to`` may get a message now (it is counted), else the seconds until it may."""
        if app.config.chat_limit is None:
            return 0
        count, window = app.config.chat_limit
        now = time.monotonic()
        with self.lock:
            times = self.sent.setdefault((channel, to), deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= count:
                return max(1, math.ceil(times[0] + window - now))
            times.append(now)
        return 0


def telegram_send(app: "Sandbox", req: Request, token: str) -> Response:
    """POST /bot{token}/sendMessage {chat_id, text}: Telegram's answer shape ({ok, result} or {ok, error_code})."""
    if not hmac.compare_digest(token.encode(), app.config.token.encode()):
        raise ApiError(Response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}))
    body = req.json if isinstance(req.json, dict) else req.form
    chat_id, text = str(body.get("chat_id", "")), str(body.get("text", ""))
    if not chat_id or not text:
        raise ApiError(Response(400, {"ok": False, "error_code": 400,
                                      "description": "Bad Request: chat_id and text are required"}))
    if retry_after := app.chat_limit.wait_for(app, "telegram", chat_id):
        raise ApiError(Response(429, {"ok": False, "error_code": 429,
                                      "description": f"Too Many Requests: retry after {retry_after}",
                                      "parameters": {"retry_after": retry_after}}))
    item, kind = _tags(req)
    subject, _, rest = text.partition("\n\n")
    app.messages.add("telegram", chat_id, subject, rest or subject, item, kind)
    count = len(app.messages.items)
    return Response(200, {"ok": True, "result": {"message_id": count, "chat": {"id": int(chat_id), "type": "private"},
                                                 "date": int(datetime.now(timezone.utc).timestamp()), "text": text}})


def whatsapp_send(app: "Sandbox", req: Request, phone_number_id: str) -> Response:
    """POST /{version}/{phone-number-id}/messages (text messages), answered as the Cloud API does."""
    body = req.json if isinstance(req.json, dict) else {}
    to, text = str(body.get("to", "")), str((body.get("text") or {}).get("body", ""))
    if body.get("messaging_product") != "whatsapp" or body.get("type") != "text" or not to or not text:
        raise ApiError(Response(400, {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException",
                                                "code": 100}}))
    if app.chat_limit.wait_for(app, "whatsapp", to.lstrip("+")):  # the Cloud API says no time: its pair rate
        raise ApiError(Response(400, {"error": {
            "message": "(#131056) (Business Account, Consumer Account) pair rate limit hit", "type": "OAuthException",
            "code": 131056, "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send "
                                           "because there were too many messages sent from this phone number to "
                                           "the same phone number in a short period of time."}}}))
    item, kind = _tags(req)
    subject, _, rest = text.partition("\n\n")
    app.messages.add("whatsapp", "+" + to.lstrip("+"), subject.strip("*"), rest or subject, item, kind)
    return Response(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                          "messages": [{"id": f"wamid.sandbox{len(app.messages.items)}"}]})


def list_messages(app: "Sandbox", req: Request) -> Response:
    """GET /_sandbox/messages[?item=&kind=&channel=&to=]: the messages received, oldest first."""
    return Response(200, app.messages.select(**{k: req.query.get(k) for k in ("item", "kind", "channel", "to")}))


def messages_page(app: "Sandbox", req: Request) -> Response:
    """GET /_sandbox/messages/page: the same, as a page (newest first)."""
    rows = "".join(
        f"<tr><td>{escape(m['at'][:19].replace('T', ' '))} UTC</td><td>{escape(m['channel'])}</td>"
        f"<td>{escape(m['to'])}</td><td>{escape(m['kind'])}</td><td>{escape(m['item'])}</td>"
        f"<td><b>{escape(m['subject'])}</b><br><pre>{escape(m['text'])}</pre></td></tr>"
        for m in reversed(app.messages.select()))
    html = ("<!doctype html><html lang='id'><head><meta charset='utf-8'><title>Pesan terkirim (sandbox)</title>"
            "<style>body{font-family:sans-serif}td{vertical-align:top;border-top:1px solid #ccc;padding:4px}"
            "pre{white-space:pre-wrap;margin:0}</style></head><body><h1>Pesan yang diterima sandbox</h1>"
            f"<p>{len(app.messages.items)} pesan (email, Telegram, WhatsApp), terbaru di atas.</p><table>"
            "<tr><th>Waktu</th><th>Kanal</th><th>Kepada</th><th>Jenis</th><th>Konten</th><th>Isi</th></tr>"
            f"{rows}</table></body></html>")
    return Response(200, html.encode(), content_type="text/html; charset=utf-8")


def clear_messages(app: "Sandbox", req: Request) -> Response:
    """POST /_sandbox/messages/reset: forget every message."""
    app.messages.clear()
    return Response(200, {"reset": True})


class _SmtpHandler:
    """aiosmtpd handler: every accepted email becomes one message per recipient."""

    def __init__(self, log_: MessageLog) -> None:
        self.log = log_

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        parsed: EmailMessage = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[assignment]
        part = parsed.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
        if part is not None and part.get_content_type() == "text/html":
            text = _html_text(text)
        parts = parsed.get_content_type() + (": " + ", ".join(p.get_content_type() for p in parsed.iter_parts())
                                              if parsed.is_multipart() else "")
        for to in envelope.rcpt_tos:
            self.log.add("email", to, str(parsed.get("Subject", "")), text, str(parsed.get("X-Humas-Item", "")),
                         str(parsed.get("X-Humas-Kind", "")), parts=parts)
        return "250 Message accepted for delivery"


def _html_text(html: str) -> str:
    """The text of the pipeline's simple HTML mails (line breaks kept, tags dropped, entities decoded)."""
    return unescape(re.sub(r"<[^>]+>", "", html.replace("<br>\n", "\n").replace("<br>", "\n"))).strip()


def start_smtp(app: "Sandbox", host: str = "127.0.0.1", port: int = 8025) -> "Controller":
    """An SMTP server recording into the sandbox's messages, in its own thread; stop it with ``.stop()``."""
    from aiosmtpd.controller import Controller

    controller = Controller(_SmtpHandler(app.messages), hostname=host, port=port)
    controller.start()
    log.info("SMTP receiver on %s:%d", host, port)
    return controller
