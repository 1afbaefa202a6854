"""Benchmark: a burst of items through the embedded stack, and what items waiting at their gates cost.

    .venv/bin/python -m bench.burst --items 100                  # its own stack on free ports; 30-60 minutes
    .venv/bin/python -m bench.burst --items 10 --waiting 30 --flags 5 --through 10   # a quick look

Every figure is printed with the machine's load average beside it: other work on the machine distorts them.

1. idle: CPU of each stack component and S3 requests/s with nothing to do;
2. drop -> run start of single items, by polling (the dispatcher's sensor) and by bucket events (MinIO's
   webhook payload posted to ``/humas-intake/minio/events`` exactly as MinIO's notify_webhook target would;
   moto, the embedded S3 server, sends no notifications);
3. burst: ``--items`` Singkawang items (poster, three channels) dropped at once, polling only -> every one
   waiting at its approval gate; then, for each, its gate starting to wait -> the first approval request the
   sandbox's receivers got (email, Telegram, WhatsApp), also for those that began waiting with 200 already waiting;
4. waiting: ``--waiting`` items at gates (the burst plus Yogyakarta items, whose first gate follows one step):
   S3 requests/s, counted in the S3 server's access log, CPU per component and the messages sent (reminders and
   misses of Singkawang's 15-minute gate fall in these minutes) over a minute;
5. flag -> next task running, for ``--flags`` approvals one after another (Airflow's start_date of the task
   after the gate, minus the moment the signed flag was written);
6. machine steps: the rest of the burst approved at once -> published; items/hour before and after the gate;
7. through: ``--through`` more items dropped at once, each approved the moment its gate waits (as an approver
   at the screen would), until all are published: items/hour through every machine step, both halves sharing
   the executor slots;
8. junk (``--junk N``): a good item's drop -> gate, three times, then N briefs whose asset never arrives (each
   waits for it through its 15-minute grace), then the good items again: the slowdown (issue 16's figure).

The stack runs a copy of include/ plus one bench SOP, ``uji_beban``: Yogyakarta's steps with week-long standard
times, used for the items that only fill the gates (see FILL_SOP).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import psutil
import requests
import yaml

from humas import layout
from humas.approval_service import decide, pending_review
from humas.sop import available_sops
from humas.status import read_events, read_status
from humas.submission import claim
from humas_dev import stack
from humas_dev.sample import draw_poster

from bench import pyspy

sys.path.insert(0, str(stack.REPO / "plugins"))
from humas_airflow.intake_app import EVENTS_PATH, minio_event  # noqa: E402 - plugins/ is Airflow's path

BRIEF = """title: Uji beban {item}
caption: Konten uji beban {item} #HumasUji
channels: [instagram, facebook, x]
sop: {sop}
assets: [poster.jpg]
submitter: {submitter}
"""
SUBMITTER = {"singkawang": "skw.ayu", "yogyakarta": "ygy.nina", "uji_beban": "ygy.nina"}
# The fill items: Yogyakarta's SOP (first gate after one step) with week-long standard times, so that 400
# items created within minutes do not all pass their SLA deadlines during the measurement (their callbacks
# run in the triggerer; in real use, deadlines of waiting items are spread over days).
FILL_SOP = "uji_beban"
APPROVER = {"singkawang": "skw.hendra"}


def bench_include(target: Path, minutes: dict[str, int] | None = None) -> Path:
    """A copy of include/ plus the fill SOP (and its roster), as the e2e tests add theirs; ``minutes``: stage ->
    the standard time of Singkawang's step of that stage (a short gate: its reminders and misses, and a short
    concept: the run deadline of a step already done, come within the bench's minutes)."""
    shutil.copytree(stack.REPO / "include", target)
    if minutes:
        path = target / "sops" / "singkawang.yaml"
        skw = yaml.safe_load(path.read_text(encoding="utf-8"))
        for step in skw["steps"]:
            if step["stage"] in minutes:
                step["time"] = {"text": f"{minutes[step['stage']]} menit", "minutes": minutes[step["stage"]]}
        path.write_text(yaml.safe_dump(skw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    sop = yaml.safe_load((target / "sops" / "yogyakarta.yaml").read_text(encoding="utf-8"))
    sop["id"] = FILL_SOP
    sop["title"] = f"{sop['title']} (uji beban)"
    for step in sop["steps"]:
        step["time"] = {"text": "1 minggu", "minutes": 7 * 24 * 60}
    (target / "sops" / f"{FILL_SOP}.yaml").write_text(yaml.safe_dump(sop, allow_unicode=True), encoding="utf-8")
    shutil.copy(target / "rosters" / "yogyakarta.yaml", target / "rosters" / f"{FILL_SOP}.yaml")
    return target


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def component_cpu(cfg: stack.StackConfig) -> dict[str, float]:
    """User+system CPU seconds of each component (see stack.component_processes), finished children included."""
    usage = {}
    for name, pid in stack.running(cfg).items():
        total = 0.0
        for proc in stack.component_processes(pid):
            try:
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                continue
        usage[name] = total
    return usage


def received_messages(cfg: stack.StackConfig) -> list[dict[str, Any]]:
    """Every notification the sandbox's receivers got (email, Telegram, WhatsApp), oldest first."""
    return requests.get(f"{cfg.sandbox_url}/_sandbox/messages", timeout=60).json()


class Window:
    """CPU per component and S3 requests (the S3 server's access log) over a stretch of time."""

    def __init__(self, cfg: stack.StackConfig) -> None:
        self.cfg, self.log, self.triggerer_log = cfg, cfg.home / "logs" / "s3.log", cfg.home / "logs" / "triggerer.log"
        self.cpu0, self.t0 = component_cpu(cfg), time.monotonic()
        self.offset, self.triggerer_offset = self.log.stat().st_size, self.triggerer_log.stat().st_size
        self.messages0 = received_messages(cfg)

    def close(self) -> dict[str, Any]:
        seconds = time.monotonic() - self.t0
        cpu1 = component_cpu(self.cfg)
        with open(self.log, "rb") as fh:
            fh.seek(self.offset)
            lines = [ln for ln in fh.read().decode(errors="replace").splitlines() if '" 2' in ln or '" 4' in ln
                     or '" 3' in ln or '" 5' in ln]
        lists = [ln for ln in lines if "list-type=2" in ln]
        with open(self.triggerer_log, "rb") as fh:  # SLA deadline callbacks run in the triggerer too
            fh.seek(self.triggerer_offset)
            callbacks = fh.read().decode(errors="replace").count("CallbackState")
        kinds: dict[str, int] = {}
        for message in received_messages(self.cfg)[len(self.messages0):]:
            kinds[message["kind"]] = kinds.get(message["kind"], 0) + 1
        return {"seconds": seconds, "cores": {n: (cpu1.get(n, 0) - c) / seconds for n, c in self.cpu0.items()},
                "messages": kinds,
                "s3_per_s": len(lines) / seconds, "s3_list_per_s": len(lists) / seconds,
                "s3_by_prefix": _by_prefix(lists, seconds), "deadline_callbacks": callbacks}


def _by_prefix(lines: list[str], seconds: float) -> dict[str, float]:
    counts: dict[str, int] = {}
    for line in lines:
        prefix = line.split("prefix=", 1)[1].split("&", 1)[0].split(" ", 1)[0] if "prefix=" in line else ""
        top = prefix.split("/", 1)[0] + "/" if "/" in prefix else prefix
        counts[top] = counts.get(top, 0) + 1
    return {k: round(v / seconds, 2) for k, v in sorted(counts.items())}


class Bench:
    def __init__(self, cfg: stack.StackConfig, poster: bytes) -> None:
        self.cfg, self.poster = cfg, poster
        self.store, self.token = stack._store(cfg), stack.api_token(cfg)
        self.sops = available_sops(cfg.include_dir / "sops")
        self.webhook_token = stack.webhook_token(stack.load_secrets(cfg))

    def drop(self, item_id: str, sop: str, events: bool = False) -> datetime:
        """The poster, then the brief (as `humas submit` does); with ``events``, MinIO's event after each put."""
        keys = [layout.asset_key(item_id, "poster.jpg"), layout.brief_key(item_id)]
        self.store.put_bytes(keys[0], self.poster, "image/jpeg")
        if events:
            self.post_event(keys[0])
        brief = BRIEF.format(item=item_id, sop=sop, submitter=SUBMITTER[sop]).encode()
        claim(self.store, item_id, SUBMITTER[sop], brief)  # the submitter's claim, as `humas submit` writes it
        self.store.put_bytes(keys[1], brief, "application/yaml")
        if events:
            self.post_event(keys[1])
        return self.store.head(keys[1]).last_modified

    def post_event(self, key: str) -> None:
        info = self.store.head(key)
        resp = requests.post(f"{self.cfg.airflow_url}/humas-intake{EVENTS_PATH}", timeout=60,
                             json=minio_event(self.cfg.bucket, key, info.size, info.etag),
                             headers={"Authorization": f"Bearer {self.webhook_token}"})
        resp.raise_for_status()

    def api(self, path: str) -> dict[str, Any] | None:
        resp = stack.api_get(self.cfg, path, self.token)
        if resp.status_code == 401:
            self.token = stack.api_token(self.cfg)
            resp = stack.api_get(self.cfg, path, self.token)
        return resp.json() if resp.status_code == 200 else None

    def run_start(self, item_id: str, sop: str) -> datetime | None:
        run = self.api(f"/api/v2/dags/{self.sops[sop].dag_id}/dagRuns/{layout.run_id_for(item_id)}")
        return datetime.fromisoformat(run["start_date"]) if run and run.get("start_date") else None

    def task_instance(self, item_id: str, sop: str, task_id: str) -> dict[str, Any] | None:
        return self.api(f"/api/v2/dags/{self.sops[sop].dag_id}/dagRuns/{layout.run_id_for(item_id)}"
                        f"/taskInstances/{task_id}")

    def task_start(self, item_id: str, sop: str, task_id: str) -> datetime | None:
        ti = self.task_instance(item_id, sop, task_id)
        return datetime.fromisoformat(ti["start_date"]) if ti and ti.get("start_date") else None

    def flag_stages(self, item_id: str, sop: str, gate_id: str, next_id: str, flagged: datetime) -> dict[str, float]:
        """Where the seconds from flag to next task went, from Airflow's own timestamps of the two tasks."""
        gate, after = self.task_instance(item_id, sop, gate_id) or {}, self.task_instance(item_id, sop, next_id) or {}
        stamps = {"gate_done": gate.get("end_date"), "next_scheduled": after.get("scheduled_when"),
                  "next_queued": after.get("queued_when"), "next_running": after.get("start_date")}
        return {k: (datetime.fromisoformat(v) - flagged).total_seconds() for k, v in stamps.items() if v}

    def time_flags(self, items: list[str], sop_id: str) -> tuple[list[float], list[dict[str, float]]]:
        """Approve ``items`` one after another at their first gate: seconds from each flag to the next task
        running, and where they went (``flag_stages``)."""
        sop = self.sops[sop_id]
        gate = sop.gates[0]
        next_task = sop.steps[sop.steps.index(gate) + 1].task_id
        latency, stages = [], []
        for item_id in items:
            flagged = self.approve(item_id, sop_id)
            started = wait_for(lambda: self.task_start(item_id, sop_id, next_task), 300, f"{next_task} of {item_id}")
            latency.append((started - flagged).total_seconds())
            stages.append(self.flag_stages(item_id, sop_id, gate.task_id, next_task, flagged))
            time.sleep(2)
        return latency, stages

    def deferred(self) -> int:
        found = self.api("/api/v2/dags/~/dagRuns/~/taskInstances?state=deferred&limit=1")
        return found["total_entries"] if found else -1

    def waiting_at(self, sop: str, gate_id: str) -> set[str]:
        """Items whose run waits (deferred) at ``gate_id``, a page of 100 at a time (the API's
        ``[api] maximum_page_limit`` caps any larger ``limit`` to 100)."""
        found: set[str] = set()
        while True:
            page = self.api(f"/api/v2/dags/{self.sops[sop].dag_id}/dagRuns/~/taskInstances?task_id={gate_id}"
                            f"&state=deferred&limit=100&offset={len(found)}") or {}
            tis = page.get("task_instances", [])
            found |= {layout.item_id_from_run_id(ti["dag_run_id"]) for ti in tis}
            if len(tis) < 100 or len(found) >= page.get("total_entries", 0):
                return found

    def approve(self, item_id: str, sop: str) -> datetime:
        pending = pending_review(self.store, item_id)
        key = stack.load_secrets(self.cfg)["approval_key"].encode()
        now = datetime.now(timezone.utc)
        decide(self.store, pending, APPROVER[sop], "approve", pending.review.digest, key, now)
        return now

    def wait_states(self, items: list[str], states: set[str], timeout: float, label: str,
                    interval: float | None = None, quiet: bool = False) -> float:
        """Seconds until every item is in one of ``states`` (raises after ``timeout``)."""
        t0, left = time.monotonic(), set(items)
        while left and time.monotonic() - t0 < timeout:
            left = {i for i in left if ((read_status(self.store, i) or {}).get("state")) not in states}
            if not quiet:
                print(f"  {label}: {len(items) - len(left)}/{len(items)} after {time.monotonic() - t0:.0f} s "
                      f"({load()})", flush=True)
            if left:  # the bench's own reads load the S3 server too
                time.sleep(interval or (10 if len(items) <= 100 else 30))
        if left:
            raise RuntimeError(f"{label}: {len(left)} items not {sorted(states)} after {timeout:.0f} s, "
                               f"e.g. {sorted(left)[:3]}")
        return time.monotonic() - t0

    def state_times(self, items: list[str], state: str) -> list[datetime]:
        times = []
        for item_id in items:
            events = read_events(self.store, item_id)
            times.append(min(datetime.fromisoformat(e["at"]) for e in events if e["state"] == state))
        return times


def wait_for(probe: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(interval)
    raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (f"n={len(values)} median {statistics.median(values):.1f} s, p95 {pct(values, 0.95):.1f} s, "
            f"max {max(values):.1f} s")


def single_latency(bench: Bench, label: str, count: int, events: bool) -> list[float]:
    latencies = []
    for n in range(count):
        item_id = f"single-{label}-{n}"
        dropped = bench.drop(item_id, "singkawang", events=events)
        started = wait_for(lambda: bench.run_start(item_id, "singkawang"), 120, f"run of {item_id}")
        latencies.append((started - dropped).total_seconds())
        time.sleep(3)
    return latencies


def drop_to_gate(bench: Bench, label: str, count: int) -> list[float]:
    """Seconds from the drop to the approval gate of ``count`` good items, one after another (polling only)."""
    latencies = []
    for n in range(count):
        item_id = f"good-{label}-{n}"
        dropped = bench.drop(item_id, "singkawang")
        bench.wait_states([item_id], {"awaiting_approval"}, 600, item_id, interval=0.5, quiet=True)
        [at_gate] = bench.state_times([item_id], "awaiting_approval")
        latencies.append((at_gate - dropped).total_seconds())
        time.sleep(2)
    return latencies


def junk(bench: Bench, junk_items: int, goods: int) -> dict[str, Any]:
    """Issue 16's figure: good items' drop -> gate, then ``junk_items`` briefs whose asset never arrives (each
    waits for it through its grace period), then good items again: the slowdown the waiting briefs cause."""
    before = drop_to_gate(bench, "before", goods)
    t0 = time.monotonic()
    for n in range(junk_items):
        item_id = f"junk-{n:04d}"
        brief = BRIEF.format(item=item_id, sop="singkawang", submitter=SUBMITTER["singkawang"]).encode()
        claim(bench.store, item_id, SUBMITTER["singkawang"], brief)
        bench.store.put_bytes(layout.brief_key(item_id), brief, "application/yaml")
    dropped_s = time.monotonic() - t0
    time.sleep(10)  # the dispatcher has seen them all and waits for their assets
    after = drop_to_gate(bench, "after", goods)
    ratio = statistics.median(after) / statistics.median(before)
    return {"junk": junk_items, "junk_dropped_in_s": dropped_s, "before": summary(before), "after": summary(after),
            "median_ratio": ratio, "load": load()}


def main() -> int:  # noqa: PLR0915 - a script: one phase after another, printed as it goes
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100, help="items in the burst (Singkawang)")
    parser.add_argument("--waiting", type=int, default=500, help="items waiting at gates while measuring cost")
    parser.add_argument("--flags", type=int, default=20, help="approvals timed one after another")
    parser.add_argument("--singles", type=int, default=3, help="single items timed per path (poll, webhook)")
    parser.add_argument("--through", type=int, default=100,
                        help="items dropped at once and approved as they reach the gate, timed to published (0: skip)")
    parser.add_argument("--parallelism", type=int, default=stack.StackConfig.parallelism,
                        help="executor slots (the embedded stack's default unless given)")
    parser.add_argument("--publish-burst", action=argparse.BooleanOptionalAction, default=True,
                        help="approve the rest of the burst at once and time it to published")
    parser.add_argument("--junk-goods", type=int, default=3, help="good items timed before and after the junk")
    parser.add_argument("--junk", type=int, default=0,
                        help="briefs whose asset never arrives, dropped after the burst (issue 16's figure)")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--measure-seconds", type=float, default=60.0)
    parser.add_argument("--max-windows", type=int, default=4, help="waiting minutes measured, at most")
    parser.add_argument("--gate-minutes", type=int, default=None,
                        help="Singkawang's gate standard time (SOP: 15): reminders and misses sooner")
    parser.add_argument("--concept-minutes", type=int, default=None,
                        help="Singkawang's first step's standard time (SOP: 30): its run deadline fires sooner")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help="py-spy every component during each waiting window into this folder (bench.pyspy)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped bench stops its stack too (finally below)
    cfg = stack.StackConfig.on_free_ports("humas-burst-", parallelism=args.parallelism)
    home = cfg.home.parent
    minutes = {"decision": args.gate_minutes, "concept": args.concept_minutes}
    cfg.include_dir = bench_include(home / "include", {k: v for k, v in minutes.items() if v})
    os.environ["HUMAS_INCLUDE_DIR"] = str(cfg.include_dir)  # the bench's approvals read the same SOPs and rosters
    # One sandbox account takes the whole burst: lift Instagram's 50-posts-a-day cap, which would otherwise stop
    # the burst at post 50 (as it would a real account; the upload then says so and retries later).
    os.environ["HUMAS_SANDBOX_IG_QUOTA"] = str(10 * (args.items + args.waiting + args.through + args.singles + 10))
    results: dict[str, Any] = {"args": vars(args), "load_start": load()}
    print(f"start: {load()}; {os.cpu_count()} cores; stack home {cfg.home}", flush=True)
    try:
        t0 = time.monotonic()
        stack.up(cfg)
        sops = available_sops(cfg.include_dir / "sops")
        stack.wait_for_dags(cfg, ["humas_dispatcher", *(s.dag_id for s in sops.values())], timeout=300)
        print(f"stack ready in {time.monotonic() - t0:.0f} s", flush=True)
        bench = Bench(cfg, draw_poster(home / "poster.jpg", title="Uji beban").read_bytes())
        time.sleep(15)

        window = Window(cfg)
        time.sleep(args.idle_seconds)
        results["idle"] = {**window.close(), "load": load()}
        _print_window("idle", results["idle"])

        results["drop_to_run_start_poll"] = single_latency(bench, "poll", args.singles, events=False)
        print(f"drop -> run start, polling: {summary(results['drop_to_run_start_poll'])} ({load()})", flush=True)
        results["drop_to_run_start_webhook"] = single_latency(bench, "hook", args.singles, events=True)
        print(f"drop -> run start, webhook: {summary(results['drop_to_run_start_webhook'])} ({load()})", flush=True)

        burst = [f"burst-{n:04d}" for n in range(args.items)]
        window, t_drop = Window(cfg), time.monotonic()
        dropped = {item_id: bench.drop(item_id, "singkawang") for item_id in burst}
        drop_seconds = time.monotonic() - t_drop
        print(f"burst: {len(burst)} items dropped in {drop_seconds:.1f} s ({load()})", flush=True)
        to_gate = bench.wait_states(burst, {"awaiting_approval"}, 3600, "burst at the gate")
        at_gate = bench.state_times(burst, "awaiting_approval")
        per_item = [(t - dropped[i]).total_seconds() for i, t in zip(burst, at_gate)]
        last = max(at_gate) - min(dropped.values())
        results["burst"] = {"dropped_in_s": drop_seconds, "all_at_gate_s": last.total_seconds(),
                            "observed_s": to_gate, "drop_to_gate": summary(per_item), **window.close(),
                            "load": load()}
        print(f"burst: all {len(burst)} at the gate {last.total_seconds():.0f} s after the first drop; per item "
              f"{summary(per_item)} ({load()})", flush=True)
        _print_window("burst", results["burst"])
        results["notice_latency"] = notice_latency(bench, burst, at_gate)
        print(f"gate starts waiting -> approval request received, with >= {WAITING_BEFORE} already waiting: "
              f"{results['notice_latency']['with_waiting']}; all: {results['notice_latency']['all']} ({load()})",
              flush=True)

        singles = [f"single-{p}-{n}" for p in ("poll", "hook") for n in range(args.singles)]
        fill = [f"wait-{n:04d}" for n in range(max(0, args.waiting - len(burst) - len(singles)))]
        t_fill = time.monotonic()
        for item_id in fill:
            bench.drop(item_id, FILL_SOP)
        fill_s = bench.wait_states(fill, {"awaiting_approval"}, 5400, "fill at the gate") if fill else 0.0
        results["fill"] = {"items": len(fill), "all_at_gate_s": time.monotonic() - t_fill, "observed_s": fill_s,
                           "load": load()}
        bench.wait_states(singles, {"awaiting_approval"}, 600, "single items at the gate")
        time.sleep(15)

        results["waiting"] = []
        # Deadline callbacks, reminders and misses of items that began waiting together come together: measure
        # minutes until a quiet one (none of them), so both the busy minutes and the quiet one are reported.
        for n in range(args.max_windows):
            window = Window(cfg)
            spies = (pyspy.record(stack.running(cfg), args.measure_seconds, args.profile_dir, f"w{n:02d}")
                     if args.profile_dir else [])
            time.sleep(args.measure_seconds)
            results["waiting"].append({**window.close(), "deferred_tasks": bench.deferred(), "load": load()})
            for spy in spies:
                spy.wait()
            _print_window(f"w{n:02d} {results['waiting'][-1]['deferred_tasks']} waiting", results["waiting"][-1])
            if _quiet(results["waiting"][-1]) and not (args.gate_minutes or args.concept_minutes):
                break  # (with the times shortened: every window, the quiet ones between the waves too)
        results["notification_cost"] = notification_cost(results["waiting"])
        print(f"notifications while items wait: {results['notification_cost']}", flush=True)

        flag_latency, stages = bench.time_flags(burst[:args.flags], "singkawang")
        stage_medians = {k: statistics.median(s[k] for s in stages if k in s) for k in stages[0]}
        results["flag_to_next_task"] = {"values": flag_latency, "summary": summary(flag_latency),
                                        "stage_medians_s": stage_medians, "stages": stages, "load": load()}
        print(f"flag -> next task running with {args.waiting} waiting: {summary(flag_latency)}; median seconds "
              f"after the flag: " + ", ".join(f"{k} {v:.1f}" for k, v in stage_medians.items()) + f" ({load()})",
              flush=True)

        rest = burst[args.flags:] if args.publish_burst else []
        approved_at = datetime.now(timezone.utc)
        for item_id in rest:
            bench.approve(item_id, "singkawang")
        bench.wait_states(burst[:args.flags] + rest, {"published"}, 1800, "burst published")
        published = bench.state_times(rest, "published") if rest else []
        post_s = (max(published) - approved_at).total_seconds() if rest else 0.0
        pre_rate = args.items / results["burst"]["all_at_gate_s"] * 3600
        post_rate = len(rest) / post_s * 3600 if rest else 0.0
        both = 3600 / (3600 / pre_rate + 3600 / post_rate) if rest else 0.0
        results["machine_steps"] = {"to_gate_items_per_hour": pre_rate, "after_gate_items": len(rest),
                                    "after_gate_s": post_s, "after_gate_items_per_hour": post_rate,
                                    "all_machine_steps_items_per_hour": both, "load": load()}
        print(f"machine steps: to the gate {pre_rate:.0f} items/h; after the gate {len(rest)} items published in "
              f"{post_s:.0f} s = {post_rate:.0f} items/h; both {both:.0f} items/h ({load()})", flush=True)
        if args.through:
            results["through"] = through(bench, [f"through-{n:04d}" for n in range(args.through)], "singkawang")
            print(f"through: {args.through} items dropped at once, each approved when its gate waited: all published "
                  f"{results['through']['all_published_s']:.0f} s after the first drop = "
                  f"{results['through']['items_per_hour']:.0f} items/h; per item drop -> published "
                  f"{results['through']['drop_to_published']} ({load()})", flush=True)
            _print_window("through", results["through"])
        if args.junk:
            results["junk"] = junk(bench, args.junk, args.junk_goods)
            print(f"drop -> gate of a good item with {len(burst)} waiting at gates: {results['junk']['before']}; "
                  f"with {args.junk} briefs waiting for their assets too: {results['junk']['after']}; median "
                  f"x{results['junk']['median_ratio']:.2f} ({load()})", flush=True)
        results["memory_mb"] = stack.stack_memory_mb(cfg)
    finally:
        results["load_end"] = load()
        stack.down(cfg)
        out = home / "burst-results.json"
        out.write_text(json.dumps(results, indent=1, default=str))
        print(f"end: {load()}; results in {out}", flush=True)
    return 0


WAITING_BEFORE = 200  # issue 15's figure: a step starts waiting while 200 items wait


def notice_latency(bench: Bench, items: list[str], waiting_since: list[datetime]) -> dict[str, Any]:
    """Seconds from each gate starting to wait (its ``awaiting_approval`` event) to the first approval request
    the sandbox's receivers got for the item (email, Telegram or WhatsApp), through the running stack."""
    first: dict[str, datetime] = {}
    for message in received_messages(bench.cfg):  # oldest first
        if message.get("kind") == "approval_request":
            first.setdefault(message["item"], datetime.fromisoformat(message["at"]))
    order = sorted(zip(waiting_since, items))
    latency = [(first[i] - since).total_seconds() for since, i in order if i in first]
    missing = [i for _, i in order if i not in first]
    return {"all": summary(latency), "with_waiting": summary(latency[WAITING_BEFORE:]), "not_received": missing}


def notification_cost(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the reminders and misses sent while items wait cost: every window that sent messages against the
    mean of the quiet ones (no messages, no deadline callbacks), as CPU per message (the busiest window alone
    too); and what that makes of issue 15's 500 waiting items, each reminded and told its miss once per step (6
    messages: 3 channels x 2), for a step of 15 minutes (the shortest standard time of a gate in the seed SOPs)
    and of 1 hour."""
    quiet = [w for w in windows if _quiet(w)]
    busy = [w for w in windows if w["messages"]]
    sent = sum(sum(w["messages"].values()) for w in busy)
    if not quiet or not sent:
        return {"measured": False, "why": "no quiet minute" if not quiet else "no message sent while waiting"}
    quiet_cores = statistics.mean(sum(w["cores"].values()) for w in quiet)
    extra = sum(max(sum(w["cores"].values()) - quiet_cores, 0.0) * w["seconds"] for w in busy)
    per_message = extra / sent
    busiest = max(busy, key=lambda w: sum(w["messages"].values()))
    by_component = {n: sum((w["cores"][n] - statistics.mean(q["cores"][n] for q in quiet)) * w["seconds"]
                           for w in busy) / sent for n in busiest["cores"]}
    by_slope = wave_slope(windows)
    return {"measured": True, "messages": sent, "busy_windows": len(busy), "quiet_windows": len(quiet),
            "busiest_window_messages": sum(busiest["messages"].values()), "busy_cores": sum(busiest["cores"].values()),
            "quiet_cores": quiet_cores, "cpu_s_per_message": per_message,
            "cpu_s_per_message_by_component": {n: round(v, 4) for n, v in by_component.items()},
            "cores_500_waiting_15min_step": 500 * 6 * per_message / (15 * 60),
            "cores_500_waiting_1h_step": 500 * 6 * per_message / 3600,
            "cpu_s_per_message_by_slope": by_slope,
            "cores_500_waiting_15min_step_by_slope": 500 * 6 * by_slope / (15 * 60) if by_slope else None}


def wave_slope(windows: list[dict[str, Any]], margin: int = 3) -> float | None:
    """CPU-seconds per message as the least-squares slope of each window's cores against its messages a second,
    over the windows of the wave and ``margin`` quiet ones either side. A shared host's speed drifts over an hour
    (the same 500 waits cost 0.16 cores at one hour and 0.28 at another); a slow drift moves the intercept, not
    the slope, where the mean of all quiet windows taken from the busy ones mistakes it for messages."""
    busy = [n for n, w in enumerate(windows) if w["messages"]]
    if not busy:
        return None
    span = windows[max(busy[0] - margin, 0):busy[-1] + margin + 1]
    xs = [sum(w["messages"].values()) / w["seconds"] for w in span]
    ys = [sum(w["cores"].values()) for w in span]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / spread if spread else None


def through(bench: Bench, items: list[str], sop: str) -> dict[str, Any]:
    """Drop ``items`` at once and approve each as soon as it waits at the SOP's gate, until all are published."""
    gate = bench.sops[sop].gates[0].task_id
    window = Window(bench.cfg)
    dropped = {item_id: bench.drop(item_id, sop) for item_id in items}
    left, deadline = set(items), time.monotonic() + 3600
    while left and time.monotonic() < deadline:
        for item_id in bench.waiting_at(sop, gate) & left:
            bench.approve(item_id, sop)
            left.discard(item_id)
        time.sleep(2)
    bench.wait_states(items, {"published"}, 3600, "through published")
    published = bench.state_times(items, "published")
    span = (max(published) - min(dropped.values())).total_seconds()
    return {"items": len(items), "all_published_s": span, "items_per_hour": len(items) / span * 3600,
            "drop_to_published": summary([(t - dropped[i]).total_seconds() for i, t in zip(items, published)]),
            **window.close(), "load": load()}


def _quiet(window: dict[str, Any]) -> bool:
    return window["deadline_callbacks"] == 0 and not window["messages"]


def _print_window(label: str, w: dict[str, Any]) -> None:
    cores = ", ".join(f"{n} {c:.3f}" for n, c in w["cores"].items())
    print(f"{label}: {w['seconds']:.0f} s; cores: {cores}; total {sum(w['cores'].values()):.2f}; "
          f"S3 {w['s3_per_s']:.1f} req/s ({w['s3_list_per_s']:.1f} listings/s {w['s3_by_prefix']}); "
          f"{w['deadline_callbacks']} SLA deadline callbacks; messages sent {w['messages'] or 'none'} ({w['load']})",
          flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
