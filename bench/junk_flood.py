"""Benchmark: what the dispatcher's poll costs with a flood of briefs waiting for files, and with many settled
items, against the same poll with none, measured side by side in one run on a real S3 server (moto over HTTP).

    PYTHONPATH=src:plugins .venv/bin/python -m bench.junk_flood     # 1,000 waiting; 1,000 and 10,000 settled: long
    PYTHONPATH=src:plugins .venv/bin/python -m bench.junk_flood --waiting 100 --settled 1000   # a quick look

Issue 16 item 6: valid briefs whose asset never arrives used to be assessed again on every 2 s poll (a brief
read and a listing each); the dispatcher's watch now remembers them until their files change or their grace
ends. Issue 19 item 4: every look used to list the whole inbox (one S3 page per 1,000 files), so a look grew
with the items already settled; now a look reads the next page after where the last one stopped.
Reported per inbox, the watch before ("whole inbox a look") and now ("sweep") on the same bucket: S3 requests
and wall time of one steady look, and from a good item's drop (its folder anywhere in key order) to its
decision the requests, wall time and looks (a look every 2 s), each time with the ratio to the empty inbox;
the waiting flood also without the memory of waits (issue 16's before).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
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
STEADY_LOOKS = 10
POLL_S = 2.0  # the dispatcher looks every 2 s (InboxDispatchTrigger.poll_interval)


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
    """The watch as it was before issue 16 item 6: an item waiting for files is assessed again on every poll."""

    def note(self, decision: dispatch.Decision) -> None:
        return None


class _ListsAll(dispatch.InboxWatch):
    """The watch as it was before issue 19 item 4: every look lists the whole inbox."""

    def _sweep(self, store: Store) -> set[str]:
        self._cursor = None
        return super()._sweep(store)


def measure(store: Store, watch: dispatch.InboxWatch) -> dict[str, float]:
    """Steady looks (nothing new), and the looks until a good new item is decided: requests and median seconds
    per steady look; requests, seconds and looks from the drop to the decision (a look every POLL_S)."""
    sops, channels = available_sops(), channel_ids()
    dispatch.actionable_items(store, sops, channels, watch=watch)  # the first look learns what is there
    steady = [_counted(store, lambda: dispatch.actionable_items(store, sops, channels, watch=watch))
              for _ in range(STEADY_LOOKS)]
    found = []
    for n in range(SAMPLES):
        item_id = f"{uuid.uuid4().hex[:6]}-good-{n}"  # anywhere in key order, as staff name their folders
        store.put_bytes(layout.asset_key(item_id, "poster.jpg"), b"\xff\xd8")
        claim(store, item_id, "skw.ayu", BRIEF)
        store.put_bytes(layout.brief_key(item_id), BRIEF)
        decisions: list = []
        looks, requests, seconds = 0, 0, 0.0
        while not decisions:
            looks += 1
            sent, took = _counted(store, lambda: decisions.extend(dispatch.actionable_items(store, sops, channels,
                                                                                             watch=watch)))
            requests, seconds = requests + sent, seconds + took
        assert [d.item_id for d in decisions if d.action == "start"] == [item_id], decisions
        found.append((requests, seconds, looks))
        store.put_json(layout.dispatch_key("started", item_id), {"item_id": item_id})  # as the dispatcher would
    floor = [_counted(store, lambda: store.list_after("nothing-here/", "", 1000))[1] for _ in range(SAMPLES)]
    return {"floor_s": statistics.median(floor),
            "steady_requests": statistics.median(r for r, _ in steady),
            "steady_s": statistics.median(t for _, t in steady),
            "new_item_requests": statistics.median(r for r, _, _ in found),
            "new_item_s": statistics.median(t for _, t, _ in found),
            "new_item_looks": max(k for _, _, k in found)}


def _worst_wait(r: dict[str, float]) -> float:
    return r["steady_s"] + r["new_item_looks"] * POLL_S + r["new_item_s"]


def poller_look(store: Store, cap: int, waiters: int = 20, looks: int = 6) -> tuple[float, float]:
    """List requests and seconds per look of the shared bucket poller with ``waiters`` work steps waiting under
    the inbox, reading at most ``cap`` pages a look (``10**6``: the whole root every look, as before)."""
    from humas_airflow import triggers  # Airflow's import: only when the poller is measured

    def page(prefix: str, after: str) -> tuple[dict[str, str], bool]:
        objects, more = store.list_after(prefix, after, 1000)
        return {o.key: o.etag for o in objects}, more

    triggers.MAX_REQUESTS_PER_LOOK, triggers.MAX_LIST_REQUESTS_PER_SECOND = cap, 1e9
    poller = triggers.SharedBucketPoller("bench", layout.INBOX, page)
    seen: list[tuple[float, int]] = []  # (when, requests so far) at the end of each look
    real = poller._deliver

    def deliver(*args: object) -> None:
        seen.append((time.perf_counter(), poller.requests))
        real(*args)

    poller._deliver = deliver  # type: ignore[method-assign]

    async def scenario() -> None:
        waits = [asyncio.ensure_future(poller.wait(f"inbox/wait-{n}/", {}, 0.0)) for n in range(waiters)]
        while len(seen) < looks + 2:
            await asyncio.sleep(0.01)
        for w in waits:
            w.cancel()

    asyncio.run(scenario())
    (t0, r0), (t1, r1) = seen[1], seen[looks + 1]  # from the second look: the first learns the root's size
    return (r1 - r0) / looks, (t1 - t0) / looks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--settled", default="1000,10000", help="settled items per inbox, comma-separated")
    args = parser.parse_args(argv)
    settled = [10, *(int(n) for n in args.settled.split(","))]
    proc, url = _server()
    try:
        cases = {"empty": _store(url, "empty"),
                 **{f"{n} settled": _store(url, f"settled-{n}") for n in settled},
                 f"{args.waiting} waiting": _store(url, "waiting")}
        for n in settled:
            _fill(cases[f"{n} settled"], n, _settled, "done")
        _fill(cases[f"{args.waiting} waiting"], args.waiting, _waiting, "junk")
        results: dict[str, dict[str, float]] = {}
        for name, store in cases.items():  # before and after side by side, on the same bucket
            results[f"{name}, whole inbox a look"] = measure(store, _ListsAll())
            results[f"{name}, sweep"] = measure(store, dispatch.InboxWatch())
        results[f"{args.waiting} waiting, no memory of waits"] = measure(cases[f"{args.waiting} waiting"],
                                                                          _Forgetful())
        polls = {name: (poller_look(cases[name], 10**6), poller_look(cases[name], 4))
                 for name in ("empty", *(f"{n} settled" for n in settled))}
    finally:
        proc.terminate()
    base = results["empty, sweep"]
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("moto scans every key of the bucket for each listing (S3 and MinIO read their index from the marker):"
          " 'empty listing' is that cost of one request in the same bucket")
    print(f"{'inbox, watch':>38} {'empty listing':>13} {'steady look':>26} "
          f"{'drop -> decided (worst of %d)' % SAMPLES:>42}")
    for name, r in results.items():
        print(f"{name:>38} {r['floor_s'] * 1000:10.1f} ms {r['steady_requests']:4.0f} req {r['steady_s'] * 1000:7.1f} ms "
              f"({r['steady_s'] / base['steady_s']:5.1f}x) {r['new_item_requests']:6.0f} req "
              f"{r['new_item_s'] * 1000:7.1f} ms ({r['new_item_s'] / base['new_item_s']:5.1f}x) "
              f"{r['new_item_looks']:3.0f} looks (<= {_worst_wait(r):.0f} s)")
    print(f"worst drop -> decided: a look every {POLL_S:.0f} s after the last one ended, the drop landing just "
          "after a steady look began")
    print("\nshared bucket poller, 20 work steps waiting under the inbox: list requests and time per look")
    for name, ((before_req, before_s), (after_req, after_s)) in polls.items():
        print(f"{name:>20}: whole root a look {before_req:4.1f} req {before_s * 1000:7.1f} ms; "
              f"at most 4 pages a look {after_req:4.1f} req {after_s * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
