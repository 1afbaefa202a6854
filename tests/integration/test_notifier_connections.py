"""The chat notifiers keep their HTTP connection open across messages, and open a new one when the server closed
it, the message still going out once: a Bot API stand-in over real HTTP that records each request's connection."""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from humas.outbox import Message
from humas_airflow.notifiers import NotifierTransport

pytestmark = pytest.mark.integration

MESSAGE = Message("Pengingat: HUT Kota", "Teks", "reminder", "notify-item")


class BotApi(ThreadingHTTPServer):
    """Answers ``sendMessage`` ok; records (client port, chat id) per request; ``close`` closes each connection
    after its answer without saying so (as a server's idle timeout does)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[int, str]] = []
        self.close = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: BotApi

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((self.client_address[1], body["chat_id"]))
        answer = json.dumps({"ok": True, "result": {"message_id": len(self.server.seen)}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        self.close_connection = self.server.close

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def bot_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[BotApi]:
    server = BotApi()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_TELEGRAM", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{server.server_address[1]}", "password": "bot-token"}))
    yield server
    server.shutdown()
    server.server_close()


def _send_three(bot_api: BotApi) -> None:
    """Three messages from one thread, as a reminder's sends are, with a pause between them."""
    def send() -> None:
        for chat in ("700000001", "700000002", "700000003"):
            NotifierTransport().send("telegram", chat, MESSAGE)
            time.sleep(0.1)

    sender = threading.Thread(target=send)  # a thread of its own: its kept session is its own too
    sender.start()
    sender.join()


def test_the_messages_of_a_thread_share_one_connection(bot_api) -> None:
    _send_three(bot_api)
    assert [chat for _, chat in bot_api.seen] == ["700000001", "700000002", "700000003"]
    assert len({port for port, _ in bot_api.seen}) == 1


def test_a_connection_the_server_closed_is_opened_again_and_each_message_goes_once(bot_api) -> None:
    bot_api.close = True
    _send_three(bot_api)
    assert [chat for _, chat in bot_api.seen] == ["700000001", "700000002", "700000003"]
    assert len({port for port, _ in bot_api.seen}) == 3


def test_a_forked_process_opens_its_own_connection(bot_api) -> None:
    NotifierTransport().send("telegram", "700000001", MESSAGE)   # this process's kept connection
    child = os.fork()
    if child == 0:  # a Celery pool process forked after its parent sent something
        try:
            NotifierTransport().send("telegram", "700000002", MESSAGE)
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    assert [chat for _, chat in bot_api.seen] == ["700000001", "700000002"]
    assert len({port for port, _ in bot_api.seen}) == 2   # the parent's socket is never shared


@pytest.fixture()
def masks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every secret the Task SDK masks from now on (in the triggerer, each one is a message to its supervisor)."""
    import airflow.sdk.execution_time.context as sdk_context
    import airflow.sdk.log as sdk_log

    from humas_airflow import notifiers

    seen: list[object] = []
    monkeypatch.setattr(sdk_log, "mask_secret", lambda secret, name=None: seen.append(secret))
    monkeypatch.setattr(sdk_context, "mask_secret", lambda secret, name=None: seen.append(secret))
    monkeypatch.setattr(notifiers, "_connections", {}, raising=False)
    return seen


@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """An SMTP receiver on a free port (connection ``smtp_default`` with an extra, as a deployment's has);
    the recipients of each mail it accepted."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from humas_dev.net import free_port

    got: list[str] = []

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            got.extend(envelope.rcpt_tos)  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, auth_require_tls=False,
                            authenticator=lambda *_: AuthResult(success=True))
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(
        {"conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": "humas", "password": "smtp-secret",
         "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "humas@example.go.id", "timeout": 10}}))
    yield got
    controller.stop()


def test_a_process_reads_a_connection_and_masks_its_secrets_once_for_many_messages(bot_api, smtp_server,
                                                                                     masks) -> None:
    NotifierTransport().send("telegram", "700000001", MESSAGE)
    NotifierTransport().send("email", "a@example.go.id", MESSAGE)
    first = len(masks)
    for n in range(3):
        NotifierTransport().send("telegram", f"70000000{n + 2}", MESSAGE)
        NotifierTransport().send("email", f"b{n}@example.go.id", MESSAGE)
    assert first > 0 and "bot-token" in masks and "smtp-secret" in masks  # still masked: once
    assert len(masks) == first
    assert [chat for _, chat in bot_api.seen] == ["700000001", "700000002", "700000003", "700000004"]
    assert smtp_server == ["a@example.go.id", "b0@example.go.id", "b1@example.go.id", "b2@example.go.id"]


def test_a_changed_connection_is_used_within_its_time_to_live(bot_api, masks, monkeypatch) -> None:
    from humas_airflow import notifiers

    NotifierTransport().send("telegram", "700000001", MESSAGE)
    other = BotApi()   # the connection changed: a new bot API address
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_HUMAS_TELEGRAM", json.dumps(
            {"conn_type": "http", "host": f"http://127.0.0.1:{other.server_address[1]}", "password": "bot-token"}))
        NotifierTransport().send("telegram", "700000002", MESSAGE)   # a changed variable: read again at once
        monkeypatch.setattr(notifiers, "CONNECTION_TTL", 0.0)   # (a connection in the database: after the TTL)
        masked = len(masks)
        NotifierTransport().send("telegram", "700000003", MESSAGE)
        assert len(masks) > masked
    finally:
        other.shutdown()
        other.server_close()
    assert [chat for _, chat in bot_api.seen] == ["700000001"]
    assert [chat for _, chat in other.seen] == ["700000002", "700000003"]
