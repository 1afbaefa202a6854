"""A real S3 protocol server (moto's standalone server, spoken to over HTTP) and a fresh bucket per test; a
stand-in for Airflow's API server over HTTP."""
from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import boto3
import pytest
from botocore.config import Config

from fake_http import FakeAirflowApi
from humas.store import Store
from humas_dev.net import free_port

_STARTUP_TIMEOUT = 30.0


def _wait_for_port(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with code {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto server did not listen on port {port} within {_STARTUP_TIMEOUT}s: "
                       f"{log.read_text()[-2000:]}")


@contextlib.contextmanager
def serving(module: str, log: Path, *args: str) -> Iterator[str]:
    """The endpoint URL of an S3 server, ``python -m MODULE ARGS...`` (``{port}`` replaced), until the block ends."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", module, *(a.format(port=port) for a in args)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(proc, port, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of a moto S3 server running in its own process for the whole session."""
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with serving("moto.server", log, "-H", "127.0.0.1", "-p", "{port}") as url:
        yield url


@pytest.fixture(scope="session")
def stack_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded stack's S3 server (humas_dev.stack.s3server) with IAM off, as in ``s3_server``."""
    with serving("humas_dev.stack.s3server", tmp_path_factory.mktemp("stack-s3") / "server.log",
                 "127.0.0.1", "{port}") as url:
        yield url


@pytest.fixture()
def s3_client(s3_server: str):
    """A boto3 S3 client for the test server, path-style as with MinIO."""
    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


@pytest.fixture()
def store(s3_client) -> Store:
    """A ``Store`` over a bucket of its own (a unique name per test)."""
    bucket = f"humas-test-{uuid.uuid4().hex[:20]}"
    s3_client.create_bucket(Bucket=bucket)
    return Store(s3_client, bucket)


@pytest.fixture()
def airflow_api(monkeypatch: pytest.MonkeyPatch, sops) -> Iterator[type[FakeAirflowApi]]:
    FakeAirflowApi.runs, FakeAirflowApi.clash, FakeAirflowApi.busy = {}, set(), {}
    FakeAirflowApi.sign_ins, FakeAirflowApi.sign_in_delay = 0, 0.0
    FakeAirflowApi.known_dags = {s.dag_id for s in sops.values()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAirflowApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_AIRFLOW_API", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{server.server_port}", "login": "humas-pipeline",
         "password": "pw"}))
    yield FakeAirflowApi
    server.shutdown()
