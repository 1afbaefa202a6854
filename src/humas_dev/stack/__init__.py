"""The embedded stack: S3 server (moto, over HTTP), platform sandbox and Airflow, started and stopped as one.

Production runs the same code on docker-compose (MinIO, Postgres); this is the laptop/CI default, on
PostgreSQL too (a cluster of its own in the stack home: SQLite's single writer locked the scheduler out
during bursts). ``python -m humas_dev.stack up|down|status``. Every component runs in its own process group
with a pid file, so ``down`` can make sure nothing lingers (Airflow's scheduler and its executor workers
included).

Modules: ``config`` (StackConfig, secrets, logins, the components' environment), ``processes`` (process
groups), ``postgres`` (Airflow's database), ``bucket`` (the S3 bucket and its snapshot), ``api`` (asking the
running stack), ``lifecycle`` (up, down, restart, discard), ``cli`` (the command line). Callers use
``from humas_dev import stack`` and the names below. A setting read inside a module (``postgres.ROOT_DB_PARENT``)
is changed on that module, not here.
"""
from __future__ import annotations

from humas_dev.stack.api import api_get, api_token, wait_for_dags, wait_for_state
from humas_dev.stack.bucket import _store, make_bucket, restore_bucket, snapshot_bucket
from humas_dev.stack.cli import READY, main, run
from humas_dev.stack.config import (
    COMPONENTS, DB_NAME, DB_USER, PIPELINE_USER, PLATFORM_ACCOUNTS, POSTGRES_OS_USER, REPO, StackConfig,
    airflow_env, airflow_users, bucket_keys, client_env, db_url, load_secrets, passwords, webhook_token,
    write_bucket_keys,
)
from humas_dev.stack.lifecycle import discard, down, restart, up
from humas_dev.stack.postgres import create_database, db_dir, init_db, postgres_bin_dir
from humas_dev.stack.processes import component_processes, leftovers, running, stack_memory_mb

__all__ = [
    "COMPONENTS", "DB_NAME", "DB_USER", "PIPELINE_USER", "PLATFORM_ACCOUNTS", "POSTGRES_OS_USER", "READY", "REPO",
    "StackConfig", "_store", "airflow_env", "airflow_users", "api_get", "api_token", "bucket_keys", "client_env",
    "component_processes", "create_database", "db_dir", "db_url", "discard", "down", "init_db", "leftovers",
    "load_secrets", "main", "make_bucket", "passwords", "postgres_bin_dir", "restart", "restore_bucket", "run",
    "running", "snapshot_bucket", "stack_memory_mb", "up", "wait_for_dags", "wait_for_state", "webhook_token",
    "write_bucket_keys",
]
