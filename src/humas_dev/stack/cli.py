"""The embedded stack: S3 server (moto, over HTTP), platform sandbox and Airflow, started and stopped as one.

The command line behind ``make run/stop/status/clean``: ``python -m humas_dev.stack run|up|down|status|clean``.
"""
from __future__ import annotations

import argparse
import os
import shutil

from humas_dev.stack.api import wait_for_dags, wait_for_state
from humas_dev.stack.bucket import _store
from humas_dev.stack.config import StackConfig, client_env, load_secrets, passwords
from humas_dev.stack.lifecycle import down, up
from humas_dev.stack.postgres import db_dir
from humas_dev.stack.processes import stack_memory_mb


def run(cfg: StackConfig) -> None:
    """``make run``: the stack, the SOP DAGs, and the sample item waiting for its approver."""
    from humas.cli import main as humas_cli
    from humas.sop import available_sops
    from humas.status import read_status
    from humas_dev.sample import SAMPLE_ITEM, make_sample_item

    print("starting the S3 server, the platform sandbox and Airflow (about a minute)...")
    up(cfg)
    wait_for_dags(cfg, ["humas_dispatcher", *(s.dag_id for s in available_sops().values())])
    os.environ.update(client_env(cfg, load_secrets(cfg)))
    status = read_status(_store(cfg), SAMPLE_ITEM)
    if status is None:  # a first start; after a restart the sample is where it was left
        humas_cli(["submit", str(make_sample_item(cfg.home / "sample"))])
        status = wait_for_state(_store(cfg), SAMPLE_ITEM, {"awaiting_approval", "assets_failed", "refused"}, 300)
    sec = load_secrets(cfg)
    print(READY.format(ui=cfg.airflow_url, password=sec["admin_password"], item=SAMPLE_ITEM, home=cfg.home,
                       approver_password=passwords(cfg).get("skw.hendra", "(see passwords.json)"),
                       state=status["label"], s3=cfg.s3_url, sandbox=cfg.sandbox_url, bucket=cfg.bucket))


READY = """
Humas pipeline is up.
  Airflow UI:   {ui}   (user admin, password {password})
  Approvals:    {ui}/humas/approvals   (sign in as the approver: skw.hendra, password {approver_password})
  S3 server:    {s3}   bucket {bucket}
  Sandbox:      {sandbox}/_sandbox/posts   (what was "published")
  Messages:     {sandbox}/_sandbox/messages/page   (email, Telegram, WhatsApp people received)
  Logins of everyone in include/rosters/ and their passwords: {home}/passwords.json
The sample item {item} is now: {state}
Next:
  source .stack/humas.env && source .venv/bin/activate
  humas status {item}
  humas approve {item} --user skw.hendra          # the Kepala Bidang; asks for the password above
  humas status {item}                             # published, with the post links
  humas submit path/to/your-item-folder           # your own item (brief.yaml + assets)
Stop everything with: make stop
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m humas_dev.stack", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("run", "up", "down", "status", "clean"))
    parser.add_argument("--executor", choices=("local", "celery"), default="local",
                        help="celery: Redis and Celery workers, the scale-out path (run/up)")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker machines (one worker per queue each)")
    parser.add_argument("--triggerers", type=int, default=1, help="triggerers (several for high availability)")
    args = parser.parse_args(argv)
    cfg = StackConfig(executor=args.executor, workers=args.workers, triggerers=args.triggerers)
    if args.action == "run":
        run(cfg)
    elif args.action == "up":
        up(cfg)
        print(f"stack up: Airflow {cfg.airflow_url}, S3 {cfg.s3_url}, sandbox {cfg.sandbox_url}")
    elif args.action == "down":
        print("stopped:", ", ".join(down(cfg)) or "nothing was running")
    elif args.action == "clean":
        print("stopped:", ", ".join(down(cfg)) or "nothing was running")
        shutil.rmtree(db_dir(cfg), ignore_errors=True)  # outside the home when we are root in a closed folder
        shutil.rmtree(cfg.home, ignore_errors=True)
        print(f"removed {cfg.home} (the bucket snapshot, Airflow's database, the sandbox's posts)")
    else:
        for name, mb in stack_memory_mb(cfg).items():
            print(f"{name:14} {mb:8.0f} MB")
    return 0
