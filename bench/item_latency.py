"""Benchmark: how fast the embedded stack takes an item from drop to published, and what it costs.

    .venv/bin/python -m bench.item_latency            # its own stack on free ports, 3 items, about 3 minutes
    .venv/bin/python -m bench.item_latency --items 5

For each item (Singkawang SOP, Instagram + Facebook + X): the time from the brief landing in the bucket
to its DAG run starting (Airflow's start_date) and to its first task running; the wall time from drop to
published minus the human wait (from "awaiting approval" being recorded to the flag being written, which
this script does at once); and the CPU seconds every stack process spent on the item, less what the same
stack burns idle over the same time (measured first, side by side in the same run).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

from humas import layout
from humas.approval_service import decide, pending_review
from humas.sop import available_sops
from humas.status import read_events
from humas.submission import claim
from humas_dev import stack
from humas_dev.sample import draw_poster

BRIEF = """title: Uji kecepatan {item}
caption: Konten uji kecepatan {item} #HumasUji
channels: [instagram, facebook, x]
sop: singkawang
assets: [poster.jpg]
submitter: skw.ayu
"""


def stack_cpu_seconds(cfg: stack.StackConfig) -> float:
    """User+system CPU of every stack process, including reaped children (finished task processes)."""
    groups = set(stack.running(cfg).values())
    total = 0.0
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) in groups:
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        except (psutil.Error, ProcessLookupError):
            continue
    return total


def _event_time(events: list[dict], state: str) -> datetime:
    return datetime.fromisoformat(next(e["at"] for e in events if e["state"] == state))


def approve_as(cfg: stack.StackConfig, store, item_id: str, person: str) -> None:
    """What the approval service does when ``person`` presses Setujui on the page (signed, no HTTP)."""
    pending = pending_review(store, item_id)
    decide(store, pending, person, "approve", pending.review.digest, stack.load_secrets(cfg)["approval_key"].encode(),
           datetime.now(timezone.utc))


def run_item(cfg: stack.StackConfig, store, token: str, item_id: str, workdir: Path, idle_rate: float) -> dict:
    poster = draw_poster(workdir / f"{item_id}.jpg", title=item_id)
    sop = available_sops()["singkawang"]
    cpu0, wall0 = stack_cpu_seconds(cfg), time.monotonic()
    store.put_bytes(layout.asset_key(item_id, "poster.jpg"), poster.read_bytes(), "image/jpeg")
    claim(store, item_id, "skw.ayu", BRIEF.format(item=item_id).encode())  # as `humas submit` does
    store.put_bytes(layout.brief_key(item_id), BRIEF.format(item=item_id).encode(), "application/yaml")
    dropped = store.head(layout.brief_key(item_id)).last_modified
    status = stack.wait_for_state(store, item_id, {"awaiting_approval"}, 300, step=sop.gates[0].task_id)
    waiting_since = time.monotonic()
    approve_as(cfg, store, item_id, "skw.hendra")
    human_wait = time.monotonic() - waiting_since
    stack.wait_for_state(store, item_id, {"published"}, 300)
    wall, cpu = time.monotonic() - wall0, stack_cpu_seconds(cfg) - cpu0
    run = stack.api_get(cfg, f"/api/v2/dags/{sop.dag_id}/dagRuns/{layout.run_id_for(item_id)}", token).json()
    events = read_events(store, item_id)
    return {"item": item_id,
            "drop_to_run_start_s": (datetime.fromisoformat(run["start_date"]) - dropped).total_seconds(),
            "drop_to_first_task_s": (_event_time(events, "in_step") - dropped).total_seconds(),
            "wall_excl_human_s": wall - human_wait,
            "cpu_s": cpu - idle_rate * wall, "status_at_gate": status["state"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    args = parser.parse_args()
    cfg = stack.StackConfig.on_free_ports("humas-bench-")
    home = cfg.home.parent
    try:
        started = time.monotonic()
        stack.up(cfg)
        stack.wait_for_dags(cfg, ["humas_dispatcher", *(s.dag_id for s in available_sops().values())])
        print(f"stack ready in {time.monotonic() - started:.0f} s")
        time.sleep(10)  # let start-up work settle before the idle baseline
        cpu0 = stack_cpu_seconds(cfg)
        time.sleep(args.idle_seconds)
        idle_rate = (stack_cpu_seconds(cfg) - cpu0) / args.idle_seconds
        print(f"idle stack CPU: {idle_rate:.3f} CPU-s per second")
        store, token = stack._store(cfg), stack.api_token(cfg)
        rows = [run_item(cfg, store, token, f"bench-{i}", home, idle_rate) for i in range(args.items)]
        _report(rows, stack.stack_memory_mb(cfg))
    finally:
        stack.down(cfg)
    return 0


def _report(rows: list[dict], memory: dict[str, float]) -> None:
    keys = ("drop_to_run_start_s", "drop_to_first_task_s", "wall_excl_human_s", "cpu_s")
    print(f"{'item':10} " + " ".join(f"{k:>22}" for k in keys))
    for row in rows:
        print(f"{row['item']:10} " + " ".join(f"{row[k]:22.1f}" for k in keys))
    print(f"{'median':10} " + " ".join(f"{statistics.median(r[k] for r in rows):22.1f}" for k in keys))
    print("stack memory (RSS, MB): " + ", ".join(f"{n} {mb:.0f}" for n, mb in memory.items())
          + f"; total {sum(memory.values()):.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
