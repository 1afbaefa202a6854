"""Server time of the approver inbox and the ops board (Papan Konten) with 500 items waiting.

Starts a moto S3 server (the embedded stack's bucket), fills it with N items waiting at their gates across the
four agencies (brief and status record each, as the pipeline leaves them), then calls the real FastAPI apps
in-process (no network between client and app; only the sign-in is replaced by a fixed login) and reports,
measured in this one run: the first request of a server just started, side by side without and with the warm-up
at start and without and with the index kept in the bucket (apps mounted under Airflow's own lifespan, as its API
server mounts them); then 30 requests each of the inbox (as an approver), the board, and the board filtered to
late items, as median, p95 and max; how long the index's background refresh takes (the rows' staleness bound);
the pages' size (raw and gzipped); and a thumbnail's size and time, made and kept.

    .venv/bin/python -m bench.board_pages [--items 500]
"""
from __future__ import annotations

import argparse
import gzip
import io
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


def _preview(n: int) -> bytes:
    """A preview sheet the size of a real one (1080 x 1350, noisy enough to weigh what a photo does)."""
    from PIL import Image

    image = Image.effect_noise((1080, 1350), 60 + n).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _stack(store: Store):
    """The two apps mounted as Airflow's API server mounts plugin apps, under its own lifespan."""
    from fastapi import FastAPI

    from airflow.api_fastapi.app import lifespan
    from humas_airflow import approval_app, board_app

    async def person(request):  # the sign-in replaced by a fixed login: everything else is the real app
        return "skw.hendra"

    async def ops(request):
        return "admin"

    approval_app._person, board_app._ops = person, ops
    approval_app._store = board_app._store = lambda: store
    parent = FastAPI(lifespan=lifespan)
    parent.mount("/humas", approval_app.app)
    parent.mount("/humas-board", board_app.app)
    return parent, approval_app, board_app


def _fresh_index(approval_app, board_app, snapshot: bool):
    """A new API server process's index (the apps share one)."""
    from humas.board import ItemIndex

    index = ItemIndex(snapshot_key=layout.ITEM_INDEX_KEY if snapshot else None)
    approval_app.INDEX = board_app.INDEX = index
    return index


def _first_request(parent, approval_app, board_app, *, warm: bool, snapshot: bool) -> float:
    """The first inbox request of a server just started: with or without the warm-up at start."""
    from fastapi.testclient import TestClient

    index = _fresh_index(approval_app, board_app, snapshot)
    client = TestClient(parent)
    if warm:
        with client:  # runs Airflow's lifespan, which enters the apps' own: the warm-up starts in the background
            ms = _timed(client, "/humas/approvals", 1)[0]
    else:
        ms = _timed(client, "/humas/approvals", 1)[0]
    _wait_refreshed(index)
    return ms


def _wait_refreshed(index, limit: float = 120.0) -> None:
    """Until the index's background refresh (after a snapshot) is done, so the next figure is not disturbed."""
    deadline = time.monotonic() + limit
    while (index._refreshing or not index._read_at) and time.monotonic() < deadline:
        time.sleep(0.05)


def run(store: Store, args: argparse.Namespace) -> None:
    from fastapi.testclient import TestClient

    parent, approval_app, board_app = _stack(store)
    store.delete(layout.ITEM_INDEX_KEY)
    cold = {
        "no warm-up, nothing kept (before)": _first_request(parent, approval_app, board_app, warm=False, snapshot=False),
        "warm-up at start, first start": _first_request(parent, approval_app, board_app, warm=True, snapshot=True),
        "warm-up at start, index kept": _first_request(parent, approval_app, board_app, warm=True, snapshot=True),
        "no warm-up, index kept": _first_request(parent, approval_app, board_app, warm=False, snapshot=True),
    }
    print(f"first inbox request after the API server starts (request sent at once; {2 * args.items} objects "
          "behind a full read):")
    for name, ms in cold.items():
        print(f"  {name:<36} {ms:8.1f} ms")
    client = TestClient(parent)
    print("warm (index in memory):")
    print("  " + _line("inbox (skw.hendra)", _timed(client, "/humas/approvals", args.runs)))
    print("  " + _line("board (page 1 of all items)", _timed(client, "/humas-board/", args.runs)))
    print("  " + _line("board (late only)", _timed(client, "/humas-board/?late=1", args.runs)))
    print("  " + _line("board (one agency)", _timed(client, "/humas-board/?agency=kendal", args.runs)))
    _refreshes(store, approval_app.INDEX)
    _sizes(client)
    _thumbnails(store, client)


def _refreshes(store: Store, index) -> None:
    from humas.board import ItemIndex

    start = time.perf_counter()
    index._refresh(store)
    caught_up = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    ItemIndex()._refresh(store)
    full = (time.perf_counter() - start) * 1000
    print(f"index refresh in the background: {caught_up:.0f} ms (items known: status only), full read "
          f"{full:.0f} ms; rows are at most {index.max_age.total_seconds():.0f} s + this old")


def _sizes(client) -> None:
    for name, path in (("inbox", "/humas/approvals"), ("board page 1", "/humas-board/"),
                       ("board late only", "/humas-board/?late=1")):
        body = client.get(path).content
        print(f"{name + ' page':<22} {len(body) / 1024:6.1f} KiB, {len(gzip.compress(body, 5)) / 1024:5.1f} KiB "
              "as Airflow's GZipMiddleware (level 5) sends it")


def _thumbnails(store: Store, client) -> None:
    ids = [f"bench-{n:04d}-{'x' * 20}" for n in range(2, 42, 4)]  # singkawang's: skw.hendra's own agency
    sizes = []
    for n, item_id in enumerate(ids):
        data = _preview(n)
        sizes.append(len(data))
        store.put_bytes(layout.preview_key(item_id), data, "image/jpeg")
    made = [_timed(client, f"/humas/approvals/{i}/thumb.jpg", 1)[0] for i in ids]
    cached = [_timed(client, f"/humas/approvals/{i}/thumb.jpg", 1)[0] for i in ids]
    thumb = len(client.get(f"/humas/approvals/{ids[0]}/thumb.jpg").content)
    print(f"thumbnail: preview {statistics.median(sizes) / 1024:.0f} KiB -> thumbnail {thumb / 1024:.1f} KiB; "
          f"first request (made) median {statistics.median(made):.1f} ms, later (kept) median "
          f"{statistics.median(cached):.1f} ms")


if __name__ == "__main__":
    main()
