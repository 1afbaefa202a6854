"""The tests' stand-ins for Airflow's API server: a quiet handler that answers JSON, and the dagRuns endpoint."""
from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeAirflowApi(JsonHandler):
    """Airflow 3.3's ``POST /auth/token`` and ``POST``/``GET /api/v2/dags/{id}/dagRuns``: 409 on a taken run id,
    404 for an unknown DAG, and the faults the tests arm (``busy``, ``clash``, ``sign_in_delay``)."""

    runs: dict[str, dict[str, Any]] = {}
    known_dags: set[str] = set()
    clash: set[str] = set()  # run ids whose logical date another run holds (Airflow answers 409 too)
    busy: dict[str, int] = {}  # run id -> how many requests fail with 500 first
    sign_ins = 0
    sign_in_delay = 0.0  # seconds the sign-in takes

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/auth/token":
            type(self).sign_ins += 1
            time.sleep(self.sign_in_delay)
            ok = body == {"username": "humas-pipeline", "password": "pw"}
            return self._reply(201 if ok else 401, {"access_token": "jwt"} if ok else {"detail": "bad login"})
        if self.headers.get("Authorization") != "Bearer jwt":
            return self._reply(401, {"detail": "not signed in"})
        parts = self.path.split("/")  # /api/v2/dags/<dag>/dagRuns
        if parts[4] not in self.known_dags:
            return self._reply(404, {"detail": f"Dag with dag_id: '{parts[4]}' not found"})
        if self.busy.get(body["dag_run_id"], 0) > 0:  # a busy API server or database under load
            self.busy[body["dag_run_id"]] -= 1
            return self._reply(500, {"detail": {"reason": "Database error"}})
        if body["dag_run_id"] in self.runs or body["dag_run_id"] in self.clash:
            return self._reply(409, {"detail": "Unique constraint violation"})
        self.runs[body["dag_run_id"]] = {"dag_id": parts[4], **body}
        self._reply(200, {"dag_run_id": body["dag_run_id"], "state": "queued"})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        run_id = self.path.split("/")[-1]  # /api/v2/dags/<dag>/dagRuns/<run_id>
        if run_id in self.runs:
            return self._reply(200, {"dag_run_id": run_id})
        self._reply(404, {"detail": f"The DagRun with dag_id and run_id `{run_id}` was not found"})
