"""Benchmark: the scale-out path side by side in one run, with the platform sandbox answering at realistic latency.

    .venv/bin/python -m bench.scale_out                          # 60 items per executor, a 1,000-item burst
    .venv/bin/python -m bench.scale_out --items 10 --burst 50    # a quick look
    .venv/bin/python -m bench.scale_out --settings local,local-16,local-32 --burst 0   # more slots, same cores

For each executor setting (LocalExecutor with its 8 slots; CeleryExecutor with 1 and with 2 worker machines, each a
light and a media worker of 4 slots; two triggerers with Celery), a fresh embedded stack on free ports:

1. through: ``--items`` Singkawang items (poster, three channels) dropped at once, each approved the moment its gate
   waits, until all are published: items/hour end to end, the CPU each component used (the 2 cores bind where the
   total nears 2), the load average and the stack's memory;
2. burst (on ``--burst-on``, LocalExecutor unless given): ``--burst`` items dropped at once -> every one waiting at
   its gate, and the stack's memory with all of them waiting.

Realistic platform timing: every sandbox call takes 1-3 s and an Instagram container is processed for 5-20 s
(``--latency``, ``--processing``). Instagram's 50-posts-a-day limit is lifted for the run: the items would otherwise
wait a day for it (that is the quota's job; it is not what is measured here). Every figure is printed with the
load average beside it: other work on the machine distorts them.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from humas.sop import available_sops
from humas_dev import stack
from humas_dev.sample import draw_poster

from bench.burst import Bench, bench_include, load, summary, through

SETTINGS: dict[str, dict[str, Any]] = {
    "local": {"executor": "local"},
    "local-16": {"executor": "local", "parallelism": 16},   # more slots on the same cores: where the CPU binds
    "local-32": {"executor": "local", "parallelism": 32},
    "celery-1": {"executor": "celery", "workers": 1, "triggerers": 2},
    "celery-2": {"executor": "celery", "workers": 2, "triggerers": 2},
}


def start(name: str) -> tuple[stack.StackConfig, Bench]:
    """A fresh stack for one executor setting, its DAGs loaded; and the bench that drives it."""
    cfg = stack.StackConfig.on_free_ports(f"humas-scale-{name}-", **SETTINGS[name])
    home = cfg.home.parent
    cfg.include_dir = bench_include(home / "include")
    os.environ["HUMAS_INCLUDE_DIR"] = str(cfg.include_dir)
    t0 = time.monotonic()
    stack.up(cfg)
    sops = available_sops(cfg.include_dir / "sops")
    stack.wait_for_dags(cfg, ["humas_dispatcher", *(s.dag_id for s in sops.values())], timeout=600)
    print(f"[{name}] stack of {len(cfg.components)} components, {cfg.slots} task slots, ready in "
          f"{time.monotonic() - t0:.0f} s ({load()})", flush=True)
    return cfg, Bench(cfg, draw_poster(home / "poster.jpg", title="Uji skala").read_bytes())


def burst_to_gates(bench: Bench, count: int) -> dict[str, Any]:
    """``count`` items dropped at once -> all waiting at their gate: seconds from the first drop, memory then."""
    items = [f"burst-{n:04d}" for n in range(count)]
    t0 = time.monotonic()
    dropped = {item_id: bench.drop(item_id, "singkawang") for item_id in items}
    drop_s = time.monotonic() - t0
    bench.wait_states(items, {"awaiting_approval"}, 4 * 3600, "burst at the gate")
    at_gate = bench.state_times(items, "awaiting_approval")
    span = (max(at_gate) - min(dropped.values())).total_seconds()
    return {"items": count, "dropped_in_s": drop_s, "all_at_gate_s": span, "items_per_hour": count / span * 3600,
            "drop_to_gate": summary([(t - dropped[i]).total_seconds() for i, t in zip(items, at_gate)]),
            "memory_mb": stack.stack_memory_mb(bench.cfg), "load": load()}


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Through (and, on ``--burst-on``, the burst) on a fresh stack of this setting; the stack is discarded after."""
    cfg, bench = start(name)
    result: dict[str, Any] = {"slots": cfg.slots, "components": len(cfg.components)}
    try:
        time.sleep(10)
        result["through"] = through(bench, [f"through-{n:04d}" for n in range(args.items)], "singkawang")
        result["through"]["memory_mb"] = stack.stack_memory_mb(cfg)
        _print_through(name, result)
        if args.burst and name == args.burst_on:
            result["burst"] = burst_to_gates(bench, args.burst)
            b = result["burst"]
            print(f"[{name}] burst: {b['items']} dropped in {b['dropped_in_s']:.0f} s, all at the gate "
                  f"{b['all_at_gate_s']:.0f} s after the first drop ({b['items_per_hour']:.0f} items/h); per item "
                  f"{b['drop_to_gate']}; memory {sum(b['memory_mb'].values()):.0f} MB ({b['load']})", flush=True)
    finally:
        left = stack.discard(cfg)
        if left:
            print(f"[{name}] warning: process groups outlived the stack: {left}", flush=True)
    return result


def _print_through(name: str, result: dict[str, Any]) -> None:
    t = result["through"]
    cores = sorted(t["cores"].items(), key=lambda kv: -kv[1])
    print(f"[{name}] through: {t['items']} items, all published {t['all_published_s']:.0f} s after the first drop = "
          f"{t['items_per_hour']:.0f} items/h; per item {t['drop_to_published']}; stack CPU "
          f"{sum(t['cores'].values()):.2f} cores (" + ", ".join(f"{n} {c:.2f}" for n, c in cores[:6]) +
          f"); memory {sum(t['memory_mb'].values()):.0f} MB ({t['load']})", flush=True)


def table(results: dict[str, dict[str, Any]]) -> str:
    """The side-by-side figures: one line per setting."""
    lines = [f"{'setting':10} {'slots':>5} {'items':>5} {'items/h':>8} {'vs local':>8} {'stack cores':>11} "
             f"{'memory MB':>9}  load average at the end"]
    base = results.get("local", {}).get("through", {}).get("items_per_hour")
    for name, r in results.items():
        t = r["through"]
        ratio = f"{t['items_per_hour'] / base:.2f}" if base else "-"
        lines.append(f"{name:10} {r['slots']:>5} {t['items']:>5} {t['items_per_hour']:>8.0f} {ratio:>8} "
                     f"{sum(t['cores'].values()):>11.2f} {sum(t['memory_mb'].values()):>9.0f}  {t['load']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=60, help="items through, per setting")
    parser.add_argument("--burst", type=int, default=1000, help="items in the burst to the gates (0: skip)")
    parser.add_argument("--burst-on", choices=sorted(SETTINGS), default="local")
    parser.add_argument("--settings", default="local,celery-1,celery-2",
                        help=f"which settings, comma-separated, of {', '.join(SETTINGS)}")
    parser.add_argument("--latency", default="1,3", help="seconds every platform call takes (low,high)")
    parser.add_argument("--processing", default="5,20", help="seconds an Instagram container is processed")
    args = parser.parse_args()
    os.environ.update(HUMAS_SANDBOX_LATENCY=args.latency, HUMAS_SANDBOX_PROCESSING=args.processing,
                      HUMAS_SANDBOX_IG_QUOTA=str(10 * (args.items * 3 + args.burst + 10)))
    print(f"start: {load()}; {os.cpu_count()} cores; settings {args.settings}", flush=True)
    results: dict[str, Any] = {}
    for name in args.settings.split(","):
        results[name] = measure(name, args)
    print("\n" + table(results), flush=True)
    out = Path(tempfile.gettempdir()) / f"scale-out-{int(time.time())}.json"
    out.write_text(json.dumps({"args": vars(args), "results": results, "load_end": load()}, indent=1, default=str))
    print(f"end: {load()}; results in {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
