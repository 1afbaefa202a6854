"""Benchmark: what the dispatcher's poll costs with a flood of briefs waiting for files, and with many settled
items, against the same poll with none, measured side by side in one run on a real S3 server (moto over HTTP).

    .venv/bin/python -m bench.junk_flood                      # 1,000 waiting, 10,000 settled: about 10 minutes
    .venv/bin/python -m bench.junk_flood --waiting 200 --settled 1000   # a quick look

Issue 16 item 6: valid briefs whose asset never arrives used to be assessed again on every 2 s poll (a brief
read and a listing each); the dispatcher's watch now remembers them until their files change or their grace
ends. Issue 19 item 4: items already started are remembered too, but every poll still lists the whole inbox
(one S3 listing page per 1,000 files), so that poll still grows with the inbox: the figure says by how much.
Reported: S3 requests and wall time of one steady poll, and the poll that finds a new good item and decides
to start it, each with the ratio to the empty inbox; the waiting flood also as before (no memory of waits).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import boto3
from botocore.config import Config

from humas import dispatch, layout
from humas.sop import available_sops
from humas.profiles import channel_ids
from humas.store import Store
from humas.submission import claim
from humas_dev.net import free_port

BRIEF = (b"title: Banjir kiriman\ncaption: \"Uji #Humas\"\nchannels: [facebook]\nsop: singkawang\n"
         b"assets: [poster.jpg]\nsubmitter: skw.ayu\n")
SAMPLES = 5


def _server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    return proc, f"http://127.0.0.1:{port}"


def _store(url: str, bucket: str) -> Store:
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x",
                          config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
    client.create_bucket(Bucket=bucket)
    return Store(client, bucket)


def _fill(store: Store, count: int, one: Callable[[Store, str], None], prefix: str) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: one(store, f"{prefix}-{n:05d}"), range(count)))


def _waiting(store: Store, item_id: str) -> None:
    claim(store, item_id, "skw.ayu", BRIEF)
    store.put_bytes(layout.brief_key(item_id), BRIEF)  # poster.jpg never comes


def _settled(store: Store, item_id: str) -> None:
    store.put_bytes(layout.asset_key(item_id, "poster.jpg"), b"\xff\xd8")
    store.put_bytes(layout.brief_key(item_id), BRIEF)
    store.put_json(layout.dispatch_key("started", item_id), {"item_id": item_id})


def _counted(store: Store, action: Callable[[], object]) -> tuple[int, float]:
    sent: list[str] = []
    note = lambda request, **_: sent.append(request.url)  # noqa: E731
    store.client.meta.events.register("before-send.s3", note)
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    store.client.meta.events.unregister("before-send.s3", note)
    return len(sent), elapsed


class _Forgetful(dispatch.InboxWatch):
    """The watch as it was before: an item waiting for files is assessed again on every poll."""

    def note(self, decision: dispatch.Decision) -> None:
        return None


def measure(store: Store, watch: dispatch.InboxWatch | None = None) -> dict[str, float]:
    """One steady poll (nothing new) and the poll that finds a good new item; requests and median seconds."""
    sops, channels = available_sops(), channel_ids()
    watch = watch or dispatch.InboxWatch()
    dispatch.actionable_items(store, sops, channels, watch=watch)  # the first look learns what is there
    steady = [_counted(store, lambda: dispatch.actionable_items(store, sops, channels, watch=watch))
              for _ in range(SAMPLES)]
    found = []
    for n in range(SAMPLES):
        item_id = f"good-{time.time_ns()}-{n}"
        store.put_bytes(layout.asset_key(item_id, "poster.jpg"), b"\xff\xd8")
        claim(store, item_id, "skw.ayu", BRIEF)
        store.put_bytes(layout.brief_key(item_id), BRIEF)
        decisions: list = []
        found.append(_counted(store, lambda: decisions.extend(dispatch.actionable_items(store, sops, channels,
                                                                                         watch=watch))))
        assert [d.item_id for d in decisions if d.action == "start"] == [item_id], decisions
        store.put_json(layout.dispatch_key("started", item_id), {"item_id": item_id})  # as the dispatcher would
    return {"steady_requests": statistics.median(r for r, _ in steady),
            "steady_s": statistics.median(t for _, t in steady),
            "new_item_requests": statistics.median(r for r, _ in found),
            "new_item_s": statistics.median(t for _, t in found)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--settled", type=int, default=10000)
    args = parser.parse_args(argv)
    proc, url = _server()
    try:
        cases = {"empty": _store(url, "empty"), f"{args.waiting} waiting": _store(url, "waiting"),
                 "10 settled": _store(url, "few"), f"{args.settled} settled": _store(url, "many")}
        _fill(cases[f"{args.waiting} waiting"], args.waiting, _waiting, "junk")
        _fill(cases["10 settled"], 10, _settled, "done")
        _fill(cases[f"{args.settled} settled"], args.settled, _settled, "done")
        results = {name: measure(store) for name, store in cases.items()}
        results[f"{args.waiting} waiting, as before"] = measure(cases[f"{args.waiting} waiting"], _Forgetful())
    finally:
        proc.terminate()
    base = results["empty"]
    print(f"{'inbox':>26} {'steady poll':>24} {'poll finding a good item':>30}")
    for name, r in results.items():
        print(f"{name:>26} {r['steady_requests']:4.0f} req {r['steady_s'] * 1000:7.1f} ms "
              f"({r['steady_s'] / base['steady_s']:4.1f}x) {r['new_item_requests']:6.0f} req "
              f"{r['new_item_s'] * 1000:7.1f} ms ({r['new_item_s'] / base['new_item_s']:4.1f}x)")


if __name__ == "__main__":
    main()
