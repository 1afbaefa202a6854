"""Chaos through the real stack: faults on the platforms, killed workers, restarted components, a hung S3 server;
then the promises checked: exactly one post per item per channel, every item published or failed with a reason,
receipts complete.

    .venv/bin/python -m bench.chaos --items 100 --waiting 200 --executor celery --workers 2
    .venv/bin/python -m bench.chaos --items 10 --waiting 20                       # a quick look

A test can run the same (``run_chaos`` on a stack it started). What happens, on a fresh stack:

1. ``--waiting`` items wait at their gates (never approved) the whole time;
2. the sandbox is armed to fail about ``--fault-rate`` of the calls that make or prepare a post, on every channel:
   5xx, the platforms' rate limits and plain 429s (both saying the limit frees in 20 s), answers that never come
   after the post was made (longer than the clients' 10 s timeout), and 5xx or rate limits after the post was made;
3. ``--items`` items (three channels each) are dropped at once and each approved the moment its gate waits;
4. while they publish: every running upload task's process is SIGKILLed (and with Celery, a media worker too, then
   started again), the scheduler is restarted, then one triggerer, then the S3 server hangs for 30 s (SIGSTOP: the
   embedded S3 server keeps the bucket in memory, so it cannot be stopped without losing it; a hang is the harder
   case for clients anyway: requests time out instead of being refused);
5. the checks: posts per (item, channel) on the platforms, each item's state and receipt, that the waiting items
   still wait at their gates, and that no notification was received twice (same person, channel, item, kind and
   text).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable

import psutil
import requests

from humas import layout
from humas.platforms import carries_reference
from humas.sop import available_sops
from humas.status import read_status
from humas_dev import stack

from bench.burst import FILL_SOP, Bench, bench_include, load, received_messages

FAULT_MODES = ("error_500", "rate_limit", "http_429", "timeout_after_commit", "error_500_after_commit",
               "rate_limit_after_commit")
FAULT_OPERATIONS = {"instagram": ("media", "media_publish"), "facebook": ("photos", "feed"),
                    "x": ("media_upload", "tweets")}
CHANNELS = ("instagram", "facebook", "x")
DONE = {"published", "publish_failed", "declined", "refused"}


def arm_faults(sandbox_url: str, items: int, rate: float) -> int:
    """About ``rate`` of each operation's calls fail, the modes taking turns; the number of faults armed."""
    every, armed = max(1, round(1 / rate)), 0
    for channel, operations in FAULT_OPERATIONS.items():
        for operation in operations:
            for n in range(math.ceil(items * rate) + 1):
                fault = {"channel": channel, "operation": operation, "mode": FAULT_MODES[(armed + n) % len(FAULT_MODES)],
                         "after": every - 1, "retry_after": 20, "delay_seconds": 12}
                requests.post(f"{sandbox_url}/_sandbox/faults", json=fault, timeout=10).raise_for_status()
            armed += math.ceil(items * rate) + 1
    return armed


def kill_uploads(bench: Bench, sop: str, task_id: str) -> int:
    """SIGKILL the process of every upload try running now, mid-upload (its supervisor sees it die and the try
    fails and is retried); with Celery, a whole media worker too (started again). Airflow 3 titles a try's own
    process ``airflow worker -- <try id>``: the running tries are asked of the API; only this stack's processes
    are touched. LocalExecutor's own worker processes (``... LocalExecutor: <try id>``) are left alone: killing
    them all wedges the scheduler (Airflow 3.3 blocks writing to their queue with no reader left)."""
    cfg = bench.cfg
    tries: set[str] = set()
    for _ in range(600):  # uploads run a few seconds each (or wait deferred for a quota): catch some running
        found = bench.api(f"/api/v2/dags/{bench.sops[sop].dag_id}/dagRuns/~/taskInstances?task_id={task_id}"
                          "&state=running&limit=1000") or {}
        tries = {ti["id"] for ti in found.get("task_instances", [])}
        if tries:
            break
        time.sleep(0.2)
    killed = 0
    ours = [proc for pid in stack.running(cfg).values() for proc in stack.component_processes(pid)]
    for proc in ours:
        try:
            # setproctitle leaves the rest of the old argv as empty strings: compare the title itself
            if " ".join(proc.cmdline()).strip() in {f"airflow worker -- {try_id}" for try_id in tries}:
                proc.send_signal(signal.SIGKILL)
                killed += 1
        except psutil.Error:
            continue
    if cfg.executor == "celery":
        pid = stack.running(cfg).get("worker-media-1")
        if pid:
            os.killpg(pid, signal.SIGKILL)
            stack.restart(cfg, "worker-media-1")
    return killed


def hang_s3(cfg: stack.StackConfig, seconds: float) -> None:
    """The S3 server stops answering for ``seconds`` (its process group stopped, then continued)."""
    pid = stack.running(cfg)["s3"]
    os.killpg(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.killpg(pid, signal.SIGCONT)


def disruptions(bench: Bench, sop: str, upload_task: str) -> list[tuple[float, str, Callable[[], Any]]]:
    """(share of the items published, what, how): each done once, when that share is published."""
    cfg = bench.cfg
    return [(0.1, "SIGKILL of the running uploads", lambda: kill_uploads(bench, sop, upload_task)),
            (0.25, "scheduler restarted", lambda: stack.restart(cfg, "scheduler")),
            (0.4, "triggerer restarted", lambda: stack.restart(cfg, "triggerer")),
            (0.55, "S3 server hung for 30 s", lambda: hang_s3(cfg, 30))]


def disarm_faults(sandbox_url: str) -> int:
    """Disarm the faults the run did not use up (a test's shared stack goes on without them); how many."""
    response = requests.delete(f"{sandbox_url}/_sandbox/faults", timeout=10)
    response.raise_for_status()
    return int(response.json()["cleared"])


def run_chaos(bench: Bench, items: list[str], waiting: list[str], sop: str, waiting_sop: str = FILL_SOP,
              timeout: float = 5400) -> dict[str, Any]:
    """Drop ``items``, approve each at its gate, disrupt the stack as they publish; what happened, checked
    (``waiting`` wait at the first gate of ``waiting_sop`` throughout)."""
    cfg = bench.cfg
    gate, upload = bench.sops[sop].gates[0].task_id, bench.sops[sop].steps[-1].task_id
    plan, log = disruptions(bench, sop, upload), []
    for item_id in items:
        bench.drop(item_id, sop)
    left, deadline, t0 = set(items), time.monotonic() + timeout, time.monotonic()
    while time.monotonic() < deadline:
        for item_id in bench.waiting_at(sop, gate) & left:
            bench.approve(item_id, sop)
            left.discard(item_id)
        states = {i: (read_status(bench.store, i) or {}).get("state") for i in items}
        finished = sum(s in DONE for s in states.values())
        while plan and finished >= plan[0][0] * len(items):
            _, what, action = plan.pop(0)
            outcome = action()
            log.append({"what": what, "after_s": round(time.monotonic() - t0), "outcome": outcome, "load": load()})
            print(f"  chaos: {what} ({outcome}) at {finished}/{len(items)} done ({load()})", flush=True)
        if finished == len(items) and not plan:
            break
        time.sleep(5)
    return {"disruptions": log, "seconds": time.monotonic() - t0, **check(bench, items, waiting, waiting_sop)}


def check(bench: Bench, items: list[str], waiting: list[str], waiting_sop: str) -> dict[str, Any]:
    """Exactly one post per item and channel, every item done with a reason, receipts complete, waiters waiting,
    no notification about these items received twice."""
    posts = requests.get(f"{bench.cfg.sandbox_url}/_sandbox/posts", timeout=60).json()
    counts: Counter[tuple[str, str]] = Counter()
    for post in posts:
        for item_id in items:
            if carries_reference(post.get("caption") or "", item_id):
                counts[(item_id, post["channel"])] += 1
    duplicates = {f"{i}/{c}": n for (i, c), n in counts.items() if n > 1}
    problems, states, unpublished = [], Counter(), {}
    for item_id in items:
        status = read_status(bench.store, item_id) or {}
        states[status.get("state")] += 1
        receipt = bench.store.get_json(layout.receipt_key(item_id)) or {}
        if status.get("state") == "published" and not (receipt.get("complete") and
                                                       all(counts[(item_id, c)] == 1 for c in CHANNELS)):
            problems.append(f"{item_id}: published but receipt or posts incomplete")
        elif status.get("state") == "publish_failed" and not status.get("message"):
            problems.append(f"{item_id}: failed without a reason")
        elif status.get("state") not in DONE:
            problems.append(f"{item_id}: not done ({status.get('state')})")
        if status.get("state") != "published":
            unpublished[item_id] = f"{status.get('state')}: {status.get('message', '')}"
    still = bench.waiting_at(waiting_sop, bench.sops[waiting_sop].gates[0].task_id) if waiting else set()
    ours = {*items, *waiting}
    sent = Counter((m["channel"], m["to"], m["item"], m["kind"], m["subject"], m["text"])
                   for m in received_messages(bench.cfg) if m["item"] in ours)
    twice = [f"{item}/{kind} to {to} by {channel} x{n}" for (channel, to, item, kind, _, _), n in sent.items() if n > 1]
    return {"posts": sum(counts.values()), "duplicates": duplicates, "states": dict(states), "problems": problems,
            "unpublished": unpublished,
            "messages": sum(sent.values()), "messages_sent_twice": twice,
            "waiting_still_waiting": len(still & set(waiting)), "waiting": len(waiting)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--waiting", type=int, default=200, help="items waiting at their gates throughout")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--executor", choices=("local", "celery"), default="local")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped bench stops its stack too (finally below)
    settings = {"executor": args.executor, "workers": args.workers, "triggerers": 2 if args.executor == "celery" else 1}
    cfg = stack.StackConfig.on_free_ports("humas-chaos-", **settings)
    cfg.include_dir = bench_include(cfg.home.parent / "include")
    os.environ["HUMAS_INCLUDE_DIR"] = str(cfg.include_dir)
    os.environ["HUMAS_SANDBOX_IG_QUOTA"] = str(10 * (args.items + 10))
    print(f"start: {load()}; {settings}", flush=True)
    try:
        stack.up(cfg)
        sops = available_sops(cfg.include_dir / "sops")
        stack.wait_for_dags(cfg, ["humas_dispatcher", *(s.dag_id for s in sops.values())], timeout=600)
        from humas_dev.sample import draw_poster

        bench = Bench(cfg, draw_poster(cfg.home.parent / "poster.jpg", title="Uji kacau").read_bytes())
        waiting = [f"wait-{n:04d}" for n in range(args.waiting)]
        for item_id in waiting:
            bench.drop(item_id, FILL_SOP)
        if waiting:
            bench.wait_states(waiting, {"awaiting_approval"}, 3600, "waiting items at the gate")
        armed = arm_faults(cfg.sandbox_url, args.items, args.fault_rate)
        print(f"armed {armed} faults ({load()})", flush=True)
        result = run_chaos(bench, [f"chaos-{n:04d}" for n in range(args.items)], waiting, "singkawang")
        result.update(settings=settings, armed_faults=armed, unused_faults=disarm_faults(cfg.sandbox_url),
                      load_end=load(),
                      finished_at=datetime.now(timezone.utc).isoformat())
        print(json.dumps({k: v for k, v in result.items() if k != "problems"}, indent=1, default=str), flush=True)
        print("problems:", result["problems"][:20] or "none", flush=True)
        return 0 if not (result["duplicates"] or result["problems"] or result["messages_sent_twice"]) else 1
    finally:
        stack.discard(cfg)


if __name__ == "__main__":
    raise SystemExit(main())
