"""Benchmark: what one notification message costs in CPU, in every process it touches, and in S3 requests.

    nice -n 19 .venv/bin/python -m bench.notice_cost --items 100                  # this tree only
    nice -n 19 .venv/bin/python -m bench.notice_cost --items 100 --baseline main  # and REF's code, side by side

The triggerer's reminder path, without Airflow's scheduler: ``--items`` items wait at Singkawang's design step
(its own standard time long gone), and each is handed to ``humas.notify.remind_or_escalate`` as the wait's
trigger does (a fresh ``ItemStep`` and ``NotifierTransport`` per reminder, one shared bucket client, a few
threads): a reminder and a miss to the designer and an escalation to the Kepala Bidang, 3 channels each, so 9
messages per item. The S3 server is the embedded stack's (``humas_dev.stack.s3server``, IAM on, the bucket
versioned, the pipeline's identity, as ``humas_dev.stack`` runs it); the sandbox receives Telegram/WhatsApp over
HTTP and email over SMTP in its own process; the connections are ``AIRFLOW_CONN_*`` variables, as in the stack.
Reported: CPU-seconds per message of this process (the triggerer's share), of the S3 server and of the sandbox,
and the S3 requests per message by kind. Not in it: the Airflow triggerer's own work around each reminder.

With ``--baseline REF`` the same measurement runs, alternately, on REF's ``src``, ``plugins`` and ``include``
(extracted with ``git archive``) and on this tree's, each in a child process with its own servers; the ratio is
reported.
``--profile FILE`` writes a cProfile of this process's sending (one thread) for ``python -m pstats FILE``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MESSAGES_PER_ITEM = 9  # reminder + miss to the designer, escalation to the Kepala Bidang; 3 channels each
WORKERS = 4


def measure(items: int, workers: int, profile: str | None) -> dict:
    """One measurement with the code on ``sys.path`` (this tree's, or a baseline's in a child)."""
    import psutil
    import yaml

    from bench.notifications import connections, received, start_sandbox
    from humas import layout, notify
    from humas.sop import available_sops
    from humas.status import record_state, utcnow
    from humas.steps.base import ItemStep
    from humas_airflow.notifiers import NotifierTransport

    home = Path(tempfile.mkdtemp(prefix="bench-notice-cost-"))
    s3, store, admin = start_stack_s3(home)
    receivers, smtp_port, sandbox = start_sandbox(home)
    procs = {"s3 (stack s3server)": s3, "receivers (sandbox)": receivers}
    try:
        connections(sandbox, smtp_port)
        os.environ.setdefault("HUMAS_UI_URL", "http://127.0.0.1:8080")
        calls = _counted(store)
        sop = available_sops()["singkawang"]
        step = sop.steps[1]  # the design: perancang_grafis, supervised by kepala_bidang, 3 hours
        since = utcnow() - timedelta(minutes=step.time.minutes + 5)
        brief = yaml.safe_dump({"title": "Konten uji", "caption": "Konten uji #Humas", "channels": ["facebook"],
                                "sop": "singkawang", "assets": ["poster.jpg"], "submitter": "skw.ayu"}).encode()
        ids = [f"cost-{n:04d}" for n in range(items + 2)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: (admin.put_bytes(layout.brief_key(i), brief),
                                     record_state(store, i, "awaiting_delivery", step=step.task_id)), ids))

        # as the trigger makes it (a baseline's ItemStep may predate these fields)
        as_trigger = {name: value for name, value in (("rerun_until_sent", True), ("title_read", "Konten uji"))
                      if name in ItemStep.__dataclass_fields__}

        def remind(item_id: str) -> None:  # as BucketChangeTrigger._remind_or_escalate does it
            notify.remind_or_escalate(ItemStep(store, item_id, sop, step, transport=NotifierTransport(),
                                               **as_trigger), since)

        for item_id in ids[:2]:
            remind(item_id)  # warm: a long-running triggerer has its imports, pools and caches
        calls.clear()
        cpu = {n: sum(p.cpu_times()[:2]) for n, p in procs.items()}
        own, t0 = time.process_time(), time.time()
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
            profiler.runcall(lambda: [remind(i) for i in ids[2:]])
            profiler.dump_stats(profile)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(remind, ids[2:]))
        wall, own = time.time() - t0, time.process_time() - own
        cpu = {n: sum(p.cpu_times()[:2]) - cpu[n] for n, p in procs.items()}
        got = [m for m in received(sandbox) if m["item"] in set(ids[2:])]
        dupes = sum(n - 1 for n in Counter((m["item"], m["kind"], m["channel"], m["to"]) for m in got).values())
        return {"messages": len(got), "expected": MESSAGES_PER_ITEM * items, "duplicates": dupes, "wall_s": wall,
                "cpu_s": {"sender (this process)": own, **cpu}, "s3_requests": dict(calls)}
    finally:
        for proc in procs.values():
            proc.terminate()
        psutil.wait_procs(list(procs.values()), timeout=10)
        shutil.rmtree(home, ignore_errors=True)


def start_stack_s3(home: Path):
    """The embedded stack's S3 server as the stack runs it (IAM on, every roster login an identity, the bucket
    versioned): its process, the pipeline identity's store (Airflow's ``humas_bucket`` connection) and the
    admin's (which drops the briefs, as staff would)."""
    import boto3
    import psutil
    from botocore.config import Config

    from bench.notifications import _wait_port
    from humas.roster import load_roster
    from humas.sop import available_sops
    from humas.store import Store
    from humas_dev.net import free_port
    from humas_dev.stack.principals import ADMIN, NO_AUTH_ACTIONS, PIPELINE, bootstrap

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "humas_dev.stack.s3server", "127.0.0.1", str(port)],
                            env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(NO_AUTH_ACTIONS)},
                            stdout=subprocess.DEVNULL, stderr=(home / "s3.log").open("wb"))
    _wait_port(port)
    url = f"http://127.0.0.1:{port}"
    logins = sorted({login for sop in available_sops().values() for login in load_roster(sop).people})
    keys = bootstrap(url, "humas", logins)

    def client(who: str):
        return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=keys[who]["access_key"],
                            aws_secret_access_key=keys[who]["secret_key"],
                            config=Config(s3={"addressing_style": "path"}, max_pool_connections=32))

    admin = client(ADMIN)
    admin.create_bucket(Bucket="humas")
    admin.put_bucket_versioning(Bucket="humas", VersioningConfiguration={"Status": "Enabled"})
    return psutil.Process(proc.pid), Store(client(PIPELINE), "humas"), Store(admin, "humas")


def _counted(store) -> Counter:
    """A counter of the S3 requests ``store``'s client makes, by operation."""
    calls: Counter = Counter()
    store.client.meta.events.register("before-call.s3", lambda model, **_: calls.update([model.name]))
    return calls


def per_message(result: dict) -> dict[str, float]:
    n = max(result["messages"], 1)
    out = {f"cpu_ms[{k}]": 1000 * v / n for k, v in result["cpu_s"].items()}
    out["cpu_ms[total]"] = sum(1000 * v / n for v in result["cpu_s"].values())
    out.update({f"s3[{k}]": v / n for k, v in sorted(result["s3_requests"].items())})
    out["s3[total]"] = sum(result["s3_requests"].values()) / n
    return out


def _extract(ref: str) -> Path:
    """REF's src, plugins and include, as ``git archive`` gives them, in a temporary directory."""
    out = Path(tempfile.mkdtemp(prefix="bench-notice-cost-base-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src", "plugins", "include"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def _child(code: Path, args: argparse.Namespace) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code / "src"), str(code / "plugins"), str(REPO)])}
    out = subprocess.run([sys.executable, "-m", "bench.notice_cost", "--items", str(args.items), "--workers",
                          str(args.workers), "--json"], env=env, cwd=REPO, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the measurement of {code} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(label: str, result: dict) -> None:
    print(f"{label}: {result['messages']} of {result['expected']} messages received, {result['duplicates']} "
          f"duplicates, {result['wall_s']:.1f} s")
    for key, value in per_message(result).items():
        print(f"   {key:32} {value:7.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.notice_cost")
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--baseline", help="a git ref whose code is measured too, alternately with this tree's")
    parser.add_argument("--rounds", type=int, default=2, help="with --baseline: measurements of each")
    parser.add_argument("--profile", help="write a cProfile of the sending (one thread) to this file")
    parser.add_argument("--json", action="store_true", help="print the raw result as JSON (used by --baseline)")
    args = parser.parse_args(argv)
    if not args.baseline:
        sys.path.append(str(REPO / "plugins"))  # unless PYTHONPATH names other plugins (a baseline)
        result = measure(args.items, 1 if args.profile else args.workers, args.profile)
        print(json.dumps(result)) if args.json else show("this tree", result)
        return
    base = _extract(args.baseline)
    runs: dict[str, list[dict]] = {args.baseline: [], "this tree": []}
    try:
        for _ in range(args.rounds):
            runs[args.baseline].append(_child(base, args))
            runs["this tree"].append(_child(REPO, args))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    totals = {}
    for label, results in runs.items():
        for n, result in enumerate(results):
            show(f"{label} #{n + 1}", result)
        totals[label] = [per_message(r) for r in results]
    mean = {label: {k: sum(p[k] for p in ps) / len(ps) for k in ps[0]} for label, ps in totals.items()}
    old, new = mean[args.baseline], mean["this tree"]
    print(f"\nmean per message, {args.baseline} -> this tree (ratio):")
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, 0.0), new.get(key, 0.0)
        print(f"   {key:32} {a:7.2f} -> {b:7.2f}" + (f"  ({b / a:.2f}x)" if a else ""))
    cores = 500 * MESSAGES_PER_ITEM * new["cpu_ms[total]"] / 1000
    print(f"\n500 waiting items, each reminded, missed and escalated (9 messages): {cores:.1f} CPU-seconds "
          f"(this tree); 0.05 cores holds when these fall within {cores / 0.05 / 60:.0f} minutes")


if __name__ == "__main__":
    main()
