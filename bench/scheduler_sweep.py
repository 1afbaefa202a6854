"""Benchmark: what items waiting at their gates cost, and how fast an approval moves on, per scheduler setting.

    .venv/bin/python -m bench.scheduler_sweep                 # 500 waiting, three settings; about 30 minutes
    .venv/bin/python -m bench.scheduler_sweep --waiting 100 --flags 4   # a quick look

Every waiting item keeps its DAG run running, and Airflow's scheduler looks at running runs round-robin,
``max_dagruns_per_loop_to_schedule`` per loop, sleeping ``scheduler_idle_sleep_time`` between idle loops. A
step that ends puts its run first (``humas_airflow.run_app``), so the turns cost CPU without speeding an
approval up: the sweep shows by how much. This fills the gates once,
then for each setting restarts the scheduler alone and reports, side by side: CPU per component and S3
requests/s over a minute of waiting, and flag -> next task running (with the stages Airflow timestamps).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from bench.burst import FILL_SOP, Bench, Window, bench_include, load, summary
from humas.sop import available_sops
from humas_dev import stack
from humas_dev.sample import draw_poster

SETTINGS = [  # (runs examined per loop, idle sleep seconds); the first is the embedded stack's own
    ("5", "1"), ("20", "1"), ("100", "1"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=500, help="items waiting at gates")
    parser.add_argument("--flags", type=int, default=8, help="approvals timed per setting")
    args = parser.parse_args()
    cfg = stack.StackConfig.on_free_ports("humas-sweep-")
    cfg.include_dir = bench_include(cfg.home.parent / "include")
    os.environ["HUMAS_INCLUDE_DIR"] = str(cfg.include_dir)
    rows = []
    try:
        stack.up(cfg)
        sops = available_sops(cfg.include_dir / "sops")
        stack.wait_for_dags(cfg, ["humas_dispatcher", *(s.dag_id for s in sops.values())], timeout=300)
        bench = Bench(cfg, draw_poster(cfg.home.parent / "poster.jpg", title="Uji beban").read_bytes())
        flagged = [f"flag-{n:03d}" for n in range(args.flags * len(SETTINGS))]  # Singkawang: its gate is timed
        fill = [f"wait-{n:04d}" for n in range(max(0, args.waiting - len(flagged)))]
        for item_id in flagged:
            bench.drop(item_id, "singkawang")
        for item_id in fill:
            bench.drop(item_id, FILL_SOP)
        bench.wait_states(flagged + fill, {"awaiting_approval"}, 5400, "at the gate")
        for n, (per_loop, idle_sleep) in enumerate(SETTINGS):
            cfg.airflow_settings = {"AIRFLOW__SCHEDULER__MAX_DAGRUNS_PER_LOOP_TO_SCHEDULE": per_loop,
                                    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": idle_sleep}
            stack.restart(cfg, "scheduler")
            time.sleep(45)  # the new scheduler's first rounds
            window = Window(cfg)
            time.sleep(60)
            waiting = window.close()
            latency, stages = bench.time_flags(flagged[n * args.flags:(n + 1) * args.flags], "singkawang")
            medians = {k: round(statistics.median(s[k] for s in stages if k in s), 1) for k in stages[0]}
            row = {"runs_per_loop": per_loop, "idle_sleep_s": idle_sleep,
                   "cores": {k: round(v, 3) for k, v in waiting["cores"].items()},
                   "total_cores": round(sum(waiting["cores"].values()), 2), "s3_per_s": round(waiting["s3_per_s"], 1),
                   "flag_to_next_task": summary(latency), "stage_medians_s": medians, "load": load()}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        stack.down(cfg)
        out = cfg.home.parent / "sweep-results.json"
        out.write_text(json.dumps(rows, indent=1))
        print(f"results in {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
