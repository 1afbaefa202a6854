"""Server time of the approver inbox and the ops board (Papan Konten) with 500 items waiting.

Starts a moto S3 server (the embedded stack's bucket), fills it with N items waiting at their gates across the
four agencies (brief and status record each, as the pipeline leaves them), then calls the real FastAPI apps
in-process (no network between client and app; only the sign-in is replaced by a fixed login) and reports,
measured in this one run: the first request (it reads every item into the index: 2 small objects per item),
then 30 requests each of the inbox (as an approver), the board, and the board filtered to late items, as
median, p95 and max; and how long the index's background refresh takes (the rows' staleness bound).

    .venv/bin/python -m bench.board_pages [--items 500]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import yaml
from botocore.config import Config

from humas import layout
from humas.sop import available_sops
from humas.status import record_state
from humas.store import Store
from humas_dev.net import free_port

SUBMITTERS = {"singkawang": "skw.ayu", "kendal": "kdl.dewi", "yogyakarta": "ygy.nina", "gunung_mas": "gms.lina"}


def _moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                         aws_secret_access_key="x").list_buckets()
            return proc, url
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.1)
    raise RuntimeError("moto server did not start")


def _fill(store: Store, count: int) -> None:
    sops, now = available_sops(), datetime.now(timezone.utc)
    ids = sorted(SUBMITTERS)
    for n in range(count):
        sop = sops[ids[n % len(ids)]]
        gate = sop.gates[0]
        item_id = f"bench-{n:04d}-{'x' * 20}"
        store.put_bytes(layout.brief_key(item_id), yaml.safe_dump(
            {"title": f"Konten {n}", "caption": "Teks", "channels": ["facebook"], "sop": sop.id,
             "assets": ["poster.jpg"], "submitter": SUBMITTERS[sop.id], "event_date": "2026-12-31"}).encode())
        record_state(store, item_id, "awaiting_approval", step=gate.task_id, at=now - timedelta(minutes=n % 300))


def _timed(client, path: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        resp = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
    return out


def _line(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=20)
    return f"{name:<28} median {statistics.median(ms):7.1f} ms   p95 {q[18]:7.1f} ms   max {max(ms):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    proc, url = _moto()
    try:
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                              aws_secret_access_key="x", config=Config(s3={"addressing_style": "path"},
                                                                     max_pool_connections=16))
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=bucket)
        store = Store(client, bucket)
        started = time.perf_counter()
        _fill(store, args.items)
        print(f"{args.items} waiting items written in {time.perf_counter() - started:.1f} s")
        run(store, args)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(store: Store, args: argparse.Namespace) -> None:
    from fastapi.testclient import TestClient

    from humas_airflow import approval_app, board_app

    async def person(request):  # the sign-in replaced by a fixed login: everything else is the real app
        return "skw.hendra"

    async def ops(request):
        return "admin"

    approval_app._person, board_app._ops = person, ops
    approval_app._store = board_app._store = lambda: store
    approvals, board = TestClient(approval_app.app), TestClient(board_app.app)
    first = _timed(approvals, "/approvals", 1)[0]
    print(f"{'first request (cold index)':<28} {first:7.1f} ms  (reads {2 * args.items} objects)")
    print(_line("inbox (skw.hendra)", _timed(approvals, "/approvals", args.runs)))
    print(_line("board (all items)", _timed(board, "/", args.runs)))
    print(_line("board (late only)", _timed(board, "/?late=1", args.runs)))
    print(_line("board (one agency)", _timed(board, "/?agency=kendal", args.runs)))
    start = time.perf_counter()
    approval_app.INDEX._refresh(store)
    print(f"{'index refresh (background)':<28} {(time.perf_counter() - start) * 1000:7.1f} ms  "
          f"(rows are at most {approval_app.INDEX.max_age.total_seconds():.0f} s + this old)")
    print(f"inbox page size {len(approvals.get('/approvals').content) / 1024:.0f} KiB, "
          f"board page size {len(board.get('/').content) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
