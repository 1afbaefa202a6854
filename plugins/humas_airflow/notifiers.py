"""Notifiers: how a notice (``humas.outbox.Message``) reaches a person, through Airflow's notifier mechanism.

Email goes through the smtp provider's ``SmtpNotifier`` (connection ``smtp_default``; ``EmailNotifier`` adds
the plain-text part the provider leaves out); Telegram and WhatsApp through the small ``BaseNotifier``
subclasses here, whose hooks own the connections ``humas_telegram`` (Bot API ``sendMessage``) and
``humas_whatsapp`` (Cloud API ``/{phone-number-id}/messages``).

The notifiers are called with ``notify(context)``, never through ``__call__``: that would render the fields as
Jinja templates, and the texts carry what people wrote (titles, comments) which must not be evaluated.
Every request carries ``X-Humas-Item`` and ``X-Humas-Kind`` headers (the platforms ignore them; the sandbox
lists them). Each thread keeps one HTTP session for the chat APIs (``_session``), so a message reuses the open
connection (no new TCP/TLS handshake); urllib3 opens a new one when the server closed the pooled one.

Each process reads a connection once a minute at most (``kept_connection``), its extra parsed once: the Task SDK
masks a connection's secrets on every read and every ``extra_dejson``, and in the triggerer each mask is a
message to the triggerer's supervisor that wakes its loop into a round of database queries (about 15 per email:
that round, not the sending, was most of what a reminder wave cost the stack).
"""
from __future__ import annotations

import copy
import os
import threading
import time
from email.mime.text import MIMEText
from functools import cached_property
from html import escape
from typing import TYPE_CHECKING, Any

import requests

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseHook, Connection
from airflow.sdk.bases.notifier import BaseNotifier

from humas.exceptions import HumasError
from humas.outbox import NotSent

if TYPE_CHECKING:
    from humas.outbox import Message

SMTP_CONN_ID = "smtp_default"
TELEGRAM_CONN_ID = "humas_telegram"
WHATSAPP_CONN_ID = "humas_whatsapp"
TIMEOUT = 10.0
CHAT_RETRY_SECONDS = 6.0  # a chat's rate limit without a stated wait (WhatsApp's pair rate: a message per 6 s)
WHATSAPP_RATE_CODES = (131056, 130429)  # pair rate limit, throughput limit: the message was not sent
CONNECTION_TTL = 60.0  # seconds a process keeps a connection read: a changed one is used within a minute
_kept = threading.local()  # per thread (a requests session is not made for sharing between threads)
_connections: dict[tuple[str, str | None], tuple[float, Connection]] = {}
_connections_lock = threading.Lock()
_cooling: dict[tuple[str, str], float] = {}  # (channel, address) -> when its chat takes messages again (monotonic)


def _after_fork() -> None:
    """A forked child (a Celery pool process, a task runner) opens its own connections, never its parent's
    sockets, and reads the Airflow connections itself (so its own supervisor learns their secrets to mask)."""
    _kept.__dict__.clear()
    _connections.clear()
    _cooling.clear()


os.register_at_fork(after_in_child=_after_fork)


class _KeptConnection(Connection):
    """A connection whose extra is parsed, and its secrets masked, once (the SDK's ``extra_dejson`` does both on
    every read); each reader gets its own copy."""

    @cached_property
    def _extra(self) -> dict:
        return Connection.extra_dejson.fget(self)  # type: ignore[attr-defined]

    @property
    def extra_dejson(self) -> dict:
        return copy.deepcopy(self._extra)


def kept_connection(conn_id: str) -> Connection:
    """``conn_id``'s Airflow connection, read (and its secrets masked) at most once per ``CONNECTION_TTL`` in this
    process; at once again when its ``AIRFLOW_CONN_*`` variable changed."""
    key = (conn_id, os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}"))
    with _connections_lock:
        read_at, conn = _connections.get(key, (float("-inf"), None))
    if conn is not None and time.monotonic() - read_at < CONNECTION_TTL:
        return conn
    fresh = BaseHook.get_connection(conn_id)
    kept = _KeptConnection(conn_id=fresh.conn_id, conn_type=fresh.conn_type, description=fresh.description,
                           host=fresh.host, schema=fresh.schema, login=fresh.login, password=fresh.password,
                           port=fresh.port, extra=fresh.extra)
    with _connections_lock:
        _connections[key] = (time.monotonic(), kept)
    return kept


def _session() -> requests.Session:
    """This thread's HTTP session: its connections stay open for the next message."""
    if getattr(_kept, "session", None) is None:
        _kept.session = requests.Session()
    return _kept.session


def _json(response: requests.Response) -> dict:
    """The answer's JSON object; empty when it is not one (a proxy's HTML error page)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _tags(message: "Message") -> dict[str, str]:
    return {"X-Humas-Item": message.item_id, "X-Humas-Kind": message.kind}


class TelegramBotHook(BaseHook):
    """Owns ``humas_telegram``: host = Bot API base URL (https://api.telegram.org), password = the bot token."""

    conn_name_attr, default_conn_name, conn_type, hook_name = "telegram_conn_id", TELEGRAM_CONN_ID, "http", "Telegram Bot"

    def __init__(self, telegram_conn_id: str = TELEGRAM_CONN_ID) -> None:
        super().__init__()
        self.conn_id = telegram_conn_id

    def send_message(self, chat_id: str, text: str, headers: dict[str, str]) -> None:
        """``sendMessage``; raises ``HumasError`` unless the Bot API answers ``ok`` (the token never in it)."""
        conn = kept_connection(self.conn_id)
        url = f"{(conn.host or 'https://api.telegram.org').rstrip('/')}/bot{conn.password}/sendMessage"
        try:
            response = _session().post(url, json={"chat_id": chat_id, "text": text}, headers=headers,
                                       timeout=TIMEOUT)
        except requests.RequestException as exc:  # its text holds the URL, and so the bot token: never passed on
            raise HumasError(f"Telegram Bot API unreachable ({type(exc).__name__}); check the host of connection "
                             f"{self.conn_id}") from None
        if response.status_code == 429:  # the chat's flood limit: nothing was sent
            wait = (_json(response).get("parameters") or {}).get("retry_after")
            raise NotSent("Telegram: too many messages to this chat for now",
                          float(wait) if isinstance(wait, (int, float)) else CHAT_RETRY_SECONDS)
        if response.status_code != 200 or not _json(response).get("ok"):
            raise HumasError(f"Telegram sendMessage refused ({response.status_code}): {response.text[:200]}; "
                             f"check the bot token in connection {self.conn_id} and that the person started the bot")


class WhatsAppCloudHook(BaseHook):
    """Owns ``humas_whatsapp``: host = Graph API base URL, password = access token, extra ``phone_number_id``
    and ``api_version``."""

    conn_name_attr, default_conn_name, conn_type, hook_name = "whatsapp_conn_id", WHATSAPP_CONN_ID, "http", "WhatsApp Cloud"

    def __init__(self, whatsapp_conn_id: str = WHATSAPP_CONN_ID) -> None:
        super().__init__()
        self.conn_id = whatsapp_conn_id

    def send_text(self, number: str, text: str, headers: dict[str, str]) -> None:
        """A text message to ``number`` (E.164); raises ``HumasError`` unless the API accepts it."""
        conn = kept_connection(self.conn_id)
        extra = conn.extra_dejson
        url = (f"{(conn.host or 'https://graph.facebook.com').rstrip('/')}/{extra.get('api_version', 'v21.0')}/"
               f"{extra.get('phone_number_id', '')}/messages")
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": number.lstrip("+"),
                "type": "text", "text": {"preview_url": False, "body": text}}
        response = _session().post(url, json=body, timeout=TIMEOUT,
                                   headers={**headers, "Authorization": f"Bearer {conn.password}"})
        code = (_json(response).get("error") or {}).get("code")
        if response.status_code == 429 or code in WHATSAPP_RATE_CODES:  # nothing was sent
            raise NotSent(f"WhatsApp: rate limit ({code or response.status_code}) for now", CHAT_RETRY_SECONDS)
        if response.status_code != 200 or not _json(response).get("messages"):
            raise HumasError(f"WhatsApp message refused ({response.status_code}): {response.text[:200]}; check "
                             f"connection {self.conn_id} (token, phone_number_id)")


class _ChatNotifier(BaseNotifier):
    """One chat message to one address, sent by the subclass's hook (which owns the connection)."""

    template_fields = ()
    hook_class: type[BaseHook]
    default_conn_id: str

    def __init__(self, *, to: str, message: "Message", conn_id: str | None = None) -> None:
        super().__init__()
        self.to, self.message, self.conn_id = to, message, conn_id or self.default_conn_id

    @cached_property
    def hook(self) -> Any:
        return self.hook_class(self.conn_id)


class TelegramNotifier(_ChatNotifier):
    """One Telegram message to one chat (``to``: the chat id)."""

    hook_class, default_conn_id = TelegramBotHook, TELEGRAM_CONN_ID

    def notify(self, context: Any) -> None:
        self.hook.send_message(self.to, f"{self.message.subject}\n\n{self.message.text}", _tags(self.message))


class WhatsAppNotifier(_ChatNotifier):
    """One WhatsApp text message to one number (``to``: E.164)."""

    hook_class, default_conn_id = WhatsAppCloudHook, WHATSAPP_CONN_ID

    def notify(self, context: Any) -> None:
        self.hook.send_text(self.to, f"*{self.message.subject}*\n\n{self.message.text}", _tags(self.message))


class _PlainAndHtmlSmtpHook(SmtpHook):
    """The smtp provider's hook, its message given a text/plain part before the HTML one (the provider sends
    HTML only): a multipart/alternative mail reads well in any client. It extends the hook's private
    ``_build_mime_message`` (the provider has no parameter for it); a test reads the mail as received, so a
    provider that changes it is caught."""

    def __init__(self, plain_text: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plain_text = plain_text

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        return kept_connection(conn_id)  # the hook reads its extra about eight times an email

    def _build_mime_message(self, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
        msg, recipients = super()._build_mime_message(*args, **kwargs)
        msg.get_payload().insert(0, MIMEText(self.plain_text, "plain", kwargs.get("mime_charset", "utf-8")))
        return msg, recipients


class EmailNotifier(SmtpNotifier):
    """The smtp provider's ``SmtpNotifier`` sending a plain-text part beside the HTML (``mime_subtype``
    alternative: the client shows the one it prefers)."""

    def __init__(self, *, plain_text: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plain_text = plain_text

    @cached_property
    def hook(self) -> SmtpHook:
        return _PlainAndHtmlSmtpHook(self.plain_text, smtp_conn_id=self.smtp_conn_id, auth_type=self.auth_type)


def email_notifier(address: str, message: "Message") -> SmtpNotifier:
    """The notifier of one email: the text as plain text and as HTML (escaped), in multipart/alternative."""
    html = "<html><body><p>" + escape(message.text).replace("\n", "<br>\n") + "</p></body></html>"
    return EmailNotifier(to=address, subject=message.subject, html_content=html, plain_text=message.text,
                         smtp_conn_id=SMTP_CONN_ID, mime_subtype="alternative", custom_headers=_tags(message))


class NotifierTransport:
    """``humas.outbox.Transport`` over the notifiers above: the pipeline's one way of sending a notice.

    A chat that refused a message for its rate limit is not asked again in this process until its wait is over
    (asking again only lengthens a platform's penalty): a send to it is refused at once (``NotSent``; the outbox
    sends it later), or, when the wait is at most ``wait_up_to`` seconds, waited for (the outbox's sweep, in a
    thread of its own, so a backlog to one chat drains at the chat's pace)."""

    def __init__(self, wait_up_to: float = 0.0) -> None:
        self.wait_up_to = wait_up_to

    def send(self, channel: str, address: str, message: "Message") -> None:
        """Send ``message`` to ``address`` on ``channel`` (email, telegram, whatsapp); raises when it failed."""
        wait = _cooling.get((channel, address), 0.0) - time.monotonic()
        if wait > self.wait_up_to:
            raise NotSent(f"{channel}: this chat refused a message moments ago", wait)
        if wait > 0:
            time.sleep(wait)
        try:
            self._send(channel, address, message)
        except NotSent as exc:
            _cooling[(channel, address)] = time.monotonic() + exc.retry_after
            raise

    @staticmethod
    def _send(channel: str, address: str, message: "Message") -> None:
        if channel == "email":
            notifier: BaseNotifier = email_notifier(address, message)
        elif channel == "telegram":
            notifier = TelegramNotifier(to=address, message=message)
        elif channel == "whatsapp":
            notifier = WhatsAppNotifier(to=address, message=message)
        else:
            raise HumasError(f"unknown notification channel {channel!r}: use email, telegram or whatsapp")
        notifier.notify({})
