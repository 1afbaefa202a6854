"""The step-done nudge from the worker's side: the callback asks Airflow's API server (a stand-in over HTTP
answering ``/auth/token`` and ``/humas-runs/...`` as the plugin does) and never fails the step.

The endpoint itself runs in the real API server in tests/e2e/test_scheduling.py."""
from __future__ import annotations

import json
import logging
import threading
from http.server import ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from fake_http import JsonHandler

from humas.exceptions import HumasError

from humas_airflow.callbacks import schedule_next_step
from humas_airflow.hooks import AirflowApiHook

pytestmark = pytest.mark.integration


class FakeApiServer(JsonHandler):
    asked: list[tuple[str, str | None]] = []
    answer: tuple[int, dict[str, Any]] = (200, {"scheduled_next": True})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/auth/token":
            ok = json.loads(body) == {"username": "humas-pipeline", "password": "pw"}
            return self._reply(201 if ok else 401, {"access_token": "jwt"} if ok else {"detail": "bad login"})
        type(self).asked.append((self.path, self.headers.get("Authorization")))
        self._reply(*self.answer)


@pytest.fixture()
def api_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeApiServer]]:
    FakeApiServer.asked, FakeApiServer.answer = [], (200, {"scheduled_next": True})
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApiServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_AIRFLOW_API", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{server.server_port}", "login": "humas-pipeline",
         "password": "pw"}))
    yield FakeApiServer
    server.shutdown()


def _context(run_id: str) -> dict[str, Any]:
    return {"dag_run": SimpleNamespace(dag_id="humas_sop_singkawang", run_id=run_id)}


def test_a_finished_step_asks_for_its_own_run_signed_in_as_the_pipeline(api_server, caplog) -> None:
    caplog.set_level(logging.INFO, logger="humas_airflow.callbacks")
    schedule_next_step(_context("item__2026-12-01-hut kota"))
    assert api_server.asked == [("/humas-runs/dags/humas_sop_singkawang/runs/item__2026-12-01-hut%20kota/schedule-next",
                                 "Bearer jwt")]
    assert "the scheduler looks at run item__2026-12-01-hut kota next" in caplog.text


def test_a_refused_or_unreachable_api_is_logged_and_the_step_still_succeeds(api_server, monkeypatch, caplog) -> None:
    api_server.answer = (403, {"detail": "Forbidden"})
    with pytest.raises(HumasError, match="HTTP 403"):
        AirflowApiHook().schedule_next("humas_sop_singkawang", "item__x")
    schedule_next_step(_context("item__x"))  # returns: a refusal must not fail the step
    assert "could not ask the scheduler" in caplog.text and "HTTP 403" in caplog.text

    caplog.clear()
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_AIRFLOW_API", json.dumps(
        {"conn_type": "http", "host": "http://127.0.0.1:9", "login": "humas-pipeline", "password": "pw"}))
    schedule_next_step(_context("item__x"))
    assert "could not ask the scheduler" in caplog.text and "in its turn" in caplog.text


def test_a_run_that_is_not_running_is_not_reported_as_put_first(api_server, caplog) -> None:
    caplog.set_level(logging.INFO, logger="humas_airflow.callbacks")
    api_server.answer = (200, {"scheduled_next": False, "state": "success"})
    assert AirflowApiHook().schedule_next("humas_sop_singkawang", "item__x") is False
    schedule_next_step(_context("item__x"))
    assert "looks at run" not in caplog.text and "could not" not in caplog.text
