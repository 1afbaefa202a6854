"""Benchmark: notifications from the moment a step starts waiting to the message received, what they cost, and
that nothing is received twice through retries, revise loops, crashes and restarts.

    .venv/bin/python -m bench.notifications                       # 200 waiting, 100 loops; about 2-3 minutes
    .venv/bin/python -m bench.notifications --waiting 50 --loops 20   # a quick look

Runs the pipeline's own code (``humas.notify`` deciding, ``humas.outbox`` writing and claiming, the Airflow
notifiers of ``humas_airflow.notifiers`` sending) against a moto S3 server and the platform sandbox (HTTP for
Telegram and WhatsApp, aiosmtpd for email), each in its own process; the Airflow scheduler is not in the loop
(see "What it leaves out" in the report). Reported in one run:

1. latency: ``--waiting`` items start waiting at a gate at once (a burst), their approval requests sent from
   8 workers (the stack's executor slots); then, with those waiting, ``--arrivals`` more start waiting one
   every 0.5 s; for each message, the time from the moment its step started waiting to the moment the
   receiver recorded it (p50, p95, max of each phase);
2. cost: CPU per message of the sender, the S3 server and the receivers, measured over (1);
3. duplicates: ``--loops`` items each go round a revise loop (request, revise, request again, approve,
   published), every call made three times (a step's tries), a "restart" (fresh clients, caches dropped) between rounds,
   and a crash injected after the send and before the record on every 10th message, and on every 10th item's
   first request a crash before any channel is claimed, in every try (then one ``send_pending`` sweep, as the
   dispatcher's watch runs it); received messages are compared with the notices x channels that should exist.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import psutil
import requests
import yaml
from botocore.config import Config

from humas import layout, notify, outbox
from humas.sop import available_sops
from humas.status import record_state
from humas.steps.base import ItemStep
from humas.store import Store
from humas_dev.net import free_port

sys.path.append(str(Path(__file__).resolve().parents[1] / "plugins"))  # Airflow's path: the notifiers (unless given)

TOKEN = "bench-notifications-token"
BRIEF = {"title": "Konten uji", "caption": "Konten uji #Humas", "channels": ["facebook"], "sop": "singkawang",
         "assets": ["poster.jpg"], "submitter": "skw.ayu"}
WORKERS = 8


def _wait_port(port: int) -> None:
    import socket

    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def start_services(home: Path) -> tuple[dict[str, psutil.Process], str, int, str]:
    """moto and the sandbox (with its SMTP receiver) in their own processes: (processes, s3 url, smtp, sandbox)."""
    s3_port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sandbox, smtp_port, sandbox_url = start_sandbox(home)
    _wait_port(s3_port)
    procs = {"s3 (moto)": psutil.Process(moto.pid), "receivers (sandbox)": sandbox}
    return procs, f"http://127.0.0.1:{s3_port}", smtp_port, sandbox_url


def start_sandbox(home: Path) -> tuple[psutil.Process, int, str]:
    """The platform sandbox with its SMTP receiver, in its own process: (process, smtp port, sandbox url)."""
    http_port, smtp_port = free_port(), free_port()
    sandbox = subprocess.Popen([sys.executable, "-m", "humas_dev.sandbox", "--port", str(http_port),
                                "--smtp-port", str(smtp_port)], env={**os.environ, "HUMAS_SANDBOX_TOKEN": TOKEN},
                               stdout=subprocess.DEVNULL, stderr=(home / "sandbox.log").open("wb"))
    for port in (http_port, smtp_port):
        _wait_port(port)
    return psutil.Process(sandbox.pid), smtp_port, f"http://127.0.0.1:{http_port}"


def connections(sandbox: str, smtp_port: int) -> None:
    """The notification connections, as the embedded stack sets them."""
    os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps(
        {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
         "extra": {"from_email": "humas@localhost", "disable_tls": True, "disable_ssl": True, "retry_limit": 0}})
    os.environ["AIRFLOW_CONN_HUMAS_TELEGRAM"] = json.dumps({"conn_type": "http", "host": sandbox, "password": TOKEN})
    os.environ["AIRFLOW_CONN_HUMAS_WHATSAPP"] = json.dumps(
        {"conn_type": "http", "host": sandbox, "password": TOKEN,
         "extra": {"phone_number_id": "109000000000001", "api_version": "v21.0"}})


def make_store(s3_url: str) -> Store:
    client = boto3.client("s3", endpoint_url=s3_url, aws_access_key_id="x", aws_secret_access_key="x",
                          region_name="us-east-1", config=Config(s3={"addressing_style": "path"},
                                                                 max_pool_connections=32))
    client.create_bucket(Bucket="humas")
    return Store(client, "humas")


def drop_items(store: Store, prefix: str, count: int) -> list[str]:
    """Items whose brief is in the bucket and who stand at the singkawang gate."""
    ids = [f"{prefix}-{n:04d}" for n in range(count)]
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda i: (store.put_bytes(layout.brief_key(i), yaml.safe_dump(BRIEF).encode()),
                                 record_state(store, i, "awaiting_approval", step="step_3_decision")), ids))
    return ids


def received(sandbox: str, **query: str) -> list[dict]:
    return requests.get(f"{sandbox}/_sandbox/messages", params=query, timeout=30).json()


def _cpu(procs: dict[str, psutil.Process]) -> dict[str, float]:
    return {**{n: sum(p.cpu_times()[:2]) for n, p in procs.items()}, "sender (this process)": time.process_time()}


def latency(store: Store, sandbox: str, waiting: int, arrivals: int, procs: dict[str, psutil.Process]
            ) -> dict[str, float]:
    """(1) and (2): ``waiting`` items start waiting at once (a burst), then, with those waiting, ``arrivals``
    more start waiting one every half second; latency per message of each phase and CPU per message."""
    from humas_airflow.notifiers import NotifierTransport

    sop, transport = available_sops()["singkawang"], NotifierTransport()
    started: dict[str, float] = {}

    def start_waiting(item_id: str, at: float | None = None) -> None:
        started[item_id] = at or time.time()
        notify.notify_approval_request(ItemStep(store, item_id, sop, sop.steps[2], transport=transport), "skw.ayu", "r1")

    burst, later = drop_items(store, "wait", waiting), drop_items(store, "arrive", arrivals)
    before, t0 = _cpu(procs), time.time()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda i: start_waiting(i, t0), burst))  # all waiting from t0, told as a slot is free
    wall = time.time() - t0
    with ThreadPoolExecutor(WORKERS) as pool:
        for item_id in later:
            pool.submit(start_waiting, item_id)
            time.sleep(0.5)
    after, got = _cpu(procs), received(sandbox, kind="approval_request")
    out: dict[str, float] = {"burst_wall_s": wall, "messages": len(got), "expected": 3 * (waiting + arrivals)}
    for name, ids in (("burst", set(burst)), ("arrivals", set(later))):
        delays = sorted(datetime.fromisoformat(m["at"]).timestamp() - started[m["item"]] for m in got if m["item"] in ids)
        out.update({f"{name}_p50_s": statistics.median(delays), f"{name}_max_s": delays[-1],
                    f"{name}_p95_s": delays[int(0.95 * (len(delays) - 1))]})
    out.update({f"cpu_ms_per_message[{n}]": 1000 * (after[n] - before[n]) / max(len(got), 1) for n in after})
    return out


class CrashAfterSend:
    """The real transport, crashing after every ``every``-th message went out but before it is recorded."""

    def __init__(self, every: int) -> None:
        from humas_airflow.notifiers import NotifierTransport

        self.inner, self.every, self.count, self.crashed = NotifierTransport(), every, 0, 0

    def send(self, channel: str, address: str, message: outbox.Message) -> None:
        self.inner.send(channel, address, message)
        self.count += 1
        if self.count % self.every == 0:
            self.crashed += 1
            raise KeyboardInterrupt("bench: the process dies after the send")  # not an Exception: nothing catches it


TRIES = 3  # a step's tries: Airflow's retries=2 in the SOP DAGs


def _tries(call) -> None:
    for _ in range(TRIES):  # every try runs the same code again, crashed or not
        try:
            call()
        except KeyboardInterrupt:
            pass  # the crash; the next try goes on in a "new process"


def crash_before_claiming(doomed: set[str], marker: str):
    """``outbox.deliver``, dying before any claim for the notices of ``doomed`` items whose folder has
    ``marker`` (every try of their step dies there: only ``send_pending`` can send them)."""
    real = outbox.deliver

    def deliver(store: Store, folder: str, *args, **kwargs):
        if marker in folder and any(folder.startswith(layout.notices_prefix(i)) for i in doomed):
            raise KeyboardInterrupt("bench: the process dies before claiming")
        return real(store, folder, *args, **kwargs)
    return deliver


def duplicates(store: Store, sandbox: str, loops: int) -> dict[str, int]:
    """(3): revise loops with retries, restarts and crashes; received vs expected messages."""
    from humas import resources
    from humas_airflow.notifiers import NotifierTransport

    sop = available_sops()["singkawang"]
    ids = drop_items(store, "loop", loops)
    doomed = set(ids[::10])  # their first approval request: every try dies before claiming a channel
    crashing = CrashAfterSend(every=10)
    gate, upload = sop.steps[2], sop.steps[3]
    posts = [{"channel": "facebook", "permalink": "https://facebook.example/1"}]
    rounds = [
        lambda i: notify.notify_approval_request(ItemStep(store, i, sop, gate, transport=crashing), "skw.ayu", "r1"),
        lambda i: notify.notify_decision(ItemStep(store, i, sop, gate, transport=crashing), "revise",
                                         "Hendra Wijaya (Kepala Bidang)", "Logo lebih besar", "skw.ayu", "r1"),
        lambda i: notify.notify_approval_request(ItemStep(store, i, sop, gate, transport=crashing), "skw.ayu", "r2"),
        lambda i: notify.notify_decision(ItemStep(store, i, sop, gate, transport=crashing), "approve",
                                         "Hendra Wijaya (Kepala Bidang)", "", "skw.ayu", "r2"),
        lambda i: notify.notify_published(ItemStep(store, i, sop, upload, transport=crashing), posts, "skw.ayu"),
    ]
    real_deliver = outbox.deliver
    for number, step in enumerate(rounds):
        resources._CACHE.clear()  # a restart: no parsed SOP or roster survives (the bucket is all that does)
        crashing.inner = type(crashing.inner)()  # and fresh clients
        outbox.deliver = crash_before_claiming(doomed, "/approval_request/r1/") if number == 0 else real_deliver
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda i: _tries(lambda: step(i)), ids))
    outbox.deliver = real_deliver
    pending_before = len(outbox.pending(store, timedelta(0)))
    swept = notify.send_pending(store, NotifierTransport(), older_than=timedelta(0))  # the dispatcher's sweep
    swept_again = notify.send_pending(store, NotifierTransport(), older_than=timedelta(0))
    got = [m for m in received(sandbox) if m["item"] in set(ids)]
    per_kind = {"approval_request": 2}  # the revise loop asks twice: two rounds, one message each
    counts = Counter((m["item"], m["kind"], m["channel"], m["to"]) for m in got)
    extra = sum(max(0, n - per_kind.get(key[1], 1)) for key, n in counts.items())
    notices = [n for i in ids for n in outbox.notices(store, layout.notices_prefix(i))]
    states = Counter(state for n in notices for state in n["deliveries"].values())
    return {"items": loops, "expected_messages": loops * len(rounds) * 3, "received": len(got), "duplicates": extra,
            "crashes_injected": crashing.crashed, "claimed_not_recorded": states["claimed"],
            "never_claimed": states["pending"], "died_before_claiming": len(doomed), "pending_before_sweep":
            pending_before, "sent_by_sweep": swept, "sent_by_second_sweep": swept_again}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.notifications")
    parser.add_argument("--waiting", type=int, default=200)
    parser.add_argument("--arrivals", type=int, default=40)
    parser.add_argument("--loops", type=int, default=100)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    procs, s3_url, smtp_port, sandbox = start_services(home)
    try:
        connections(sandbox, smtp_port)
        os.environ.setdefault("HUMAS_UI_URL", "http://127.0.0.1:8080")
        store = make_store(s3_url)
        report(latency(store, sandbox, args.waiting, args.arrivals, procs), duplicates(store, sandbox, args.loops), args)
    finally:
        for proc in procs.values():
            proc.terminate()


def report(lat: dict[str, float], dup: dict[str, int], args: argparse.Namespace) -> None:
    cpu_ms = sum(v for k, v in lat.items() if k.startswith("cpu_ms_per_message"))
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"\n1. step starts waiting -> message received ({WORKERS} workers; {lat['messages']} of {lat['expected']} "
          "messages arrived):")
    print(f"   {args.waiting} items start waiting at once: all told after {lat['burst_wall_s']:.1f} s; "
          f"p50 {lat['burst_p50_s']:.2f} s, p95 {lat['burst_p95_s']:.2f} s, max {lat['burst_max_s']:.2f} s")
    print(f"   then, with those {args.waiting} waiting, {args.arrivals} more start waiting, one every 0.5 s: "
          f"p50 {lat['arrivals_p50_s']:.2f} s, p95 {lat['arrivals_p95_s']:.2f} s, max {lat['arrivals_max_s']:.2f} s")
    print("\n2. CPU per message (ms), over (1):")
    for key, value in lat.items():
        if key.startswith("cpu_ms_per_message"):
            print(f"   {key[len('cpu_ms_per_message['):-1]:24} {value:6.1f}")
    print(f"   total {cpu_ms:.1f} ms: 0.05 cores buys {0.05 / cpu_ms * 1000 * 3600:,.0f} messages an hour. Items "
          f"that only wait cost nothing (nothing polls; each miss is a Deadline Alert firing once, each reminder wakes its waiting step once).")
    print(f"\n3. {dup['items']} items round a revise loop (request, revise, request, approve, published), each call "
          f"made {TRIES} times, a restart between rounds, a crash after every 10th send (before its record):")
    print(f"   expected {dup['expected_messages']}, received {dup['received']}, duplicates {dup['duplicates']}; "
          f"{dup['crashes_injected']} crashes: {dup['claimed_not_recorded']} deliveries shown as 'belum pasti "
          f"terkirim' (claimed, not recorded), {dup['never_claimed']} never claimed")
    print(f"   {dup['died_before_claiming']} items' first request died before any claim in every try: "
          f"{dup['pending_before_sweep']} notices still marked pending after all rounds (theirs, and those whose "
          f"channels were all claimed before a crash: cleared, not sent), {dup['sent_by_sweep']} channels sent by one "
          f"sweep (send_pending), {dup['sent_by_second_sweep']} by a second; 'never claimed' above is after the sweep")


if __name__ == "__main__":
    main()
