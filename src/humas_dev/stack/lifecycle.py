"""Start and stop the whole stack (``up``, ``down``), one component (``restart``), or a throw-away stack and
its folders (``discard``)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from humas_dev.stack.bucket import make_bucket, restore_bucket, snapshot_bucket
from humas.exceptions import HumasError
from humas_dev.stack.config import (
    COMPONENTS, PIPELINE_USER, REPO, StackConfig, _component_env, _write_client_env, _write_passwords, airflow_users,
    load_secrets, write_bucket_keys,
)
from humas_dev.stack.principals import NO_AUTH_ACTIONS, bootstrap
from humas_dev.stack.postgres import create_database, db_dir, init_db, postgres_bin_dir
from humas_dev.stack.processes import _pid_file, _start, _stop_groups, _wait_port, leftovers, running


def _commands(cfg: StackConfig) -> dict[str, list[str]]:
    py, airflow = str(cfg.bin_dir / "python"), str(cfg.bin_dir / "airflow")
    return {
        # TCP on loopback only, no Unix socket (its default folder belongs to the system's PostgreSQL).
        "postgres": [str(postgres_bin_dir() / "postgres"), "-D", str(db_dir(cfg)), "-p", str(cfg.db_port),
                     "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
        # moto's server with IAM enforced and its control API closed (humas_dev.stack.s3server)
        "s3": [py, "-m", "humas_dev.stack.s3server", "127.0.0.1", str(cfg.s3_port)],
        "sandbox": [py, "-m", "humas_dev.sandbox", "--host", "127.0.0.1", "--port", str(cfg.sandbox_port),
                    "--state-file", str(cfg.home / "sandbox-state.json"), "--smtp-port", str(cfg.smtp_port)],
        **{name: [airflow, name] for name in ("scheduler", "dag-processor", "triggerer", "api-server")},
        **_scale_out_commands(cfg),
    }


def _scale_out_commands(cfg: StackConfig) -> dict[str, list[str]]:
    """Redis and the Celery workers (executor "celery"), and the triggerers beyond the first (which leave serving
    logs to the first: each would need a port of its own; their log files are on this machine anyway)."""
    airflow = str(cfg.bin_dir / "airflow")
    commands = {name: [airflow, "triggerer", "--skip-serve-logs"]
                for name in cfg.components if name.startswith("triggerer-")}
    if cfg.executor != "celery":
        return commands
    commands["redis"] = [_redis_server(), "--port", str(cfg.redis_port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "yes", "--dir", str(cfg.home / "redis"), "--protected-mode", "yes"]
    for name in cfg.components:
        if name.startswith("worker-"):
            _, queue, number = name.split("-")
            commands[name] = [airflow, "celery", "worker", "--queues", queue, "--concurrency",
                              str(cfg.worker_slots), "--celery-hostname", f"{queue}-{number}@%h",
                              "--skip-serve-logs", "--without-gossip", "--without-mingle"]
    return commands


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise SystemExit("redis-server is needed for the Celery executor: `make install` installs Debian's "
                         "redis-server when run as root (or: sudo apt-get install redis-server)")
    return found


def _settings(cfg: StackConfig) -> dict[str, object]:
    return {"executor": cfg.executor, "workers": cfg.workers, "worker_slots": cfg.worker_slots,
            "triggerers": cfg.triggerers}


def _check_settings(cfg: StackConfig) -> None:
    """A running stack keeps the executor it was started with: refuse to add components of another."""
    path = cfg.home / "run" / "settings.json"
    if running(cfg) and path.exists() and json.loads(path.read_text()) != _settings(cfg):
        raise SystemExit(f"the stack runs with {path.read_text().strip()}; stop it first (make stop), then start "
                         f"it with {json.dumps(_settings(cfg))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_settings(cfg)))


def up(cfg: StackConfig) -> None:
    """Start every component that is not running; return when Airflow answers and the bucket exists.

    The S3 server starts first: its identities and keys (``humas_dev.stack.principals``) are made on a fresh
    server, and Airflow's connections carry them.
    """
    _check_settings(cfg)
    sec = load_secrets(cfg)
    _write_passwords(cfg, sec)
    commands = _commands(cfg)
    (cfg.home / "redis").mkdir(parents=True, exist_ok=True)
    if "postgres" not in running(cfg):
        init_db(cfg, sec)
        _start(cfg, "postgres", commands["postgres"], {})
    create_database(cfg, sec)
    live = running(cfg)
    _start_s3(cfg, commands["s3"], fresh="s3" not in live)
    env = _component_env(cfg, sec)
    if "scheduler" not in live:
        subprocess.run([str(cfg.bin_dir / "airflow"), "db", "migrate"], env={**os.environ, **env}, check=True,
                       stdout=subprocess.DEVNULL, cwd=str(REPO))
    for name, command in commands.items():
        if name not in live and name not in ("postgres", "s3"):
            _start(cfg, name, command, env)
    _wait_port(cfg.sandbox_port, "sandbox", 30, cfg)
    _wait_port(cfg.smtp_port, "sandbox", 30, cfg)
    _wait_port(cfg.airflow_port, "api-server", 180, cfg)
    _write_client_env(cfg, sec)


def _start_s3(cfg: StackConfig, command: list[str], fresh: bool) -> None:
    """The S3 server with IAM on; on a fresh one, every identity and its key, then the bucket (restored)."""
    if fresh:
        _start(cfg, "s3", command, {"INITIAL_NO_AUTH_ACTION_COUNT": str(NO_AUTH_ACTIONS)})
    _wait_port(cfg.s3_port, "s3", 30, cfg)
    if fresh:
        people = [login for login, role in airflow_users(cfg).items() if login not in ("admin", PIPELINE_USER)]
        write_bucket_keys(cfg, bootstrap(cfg.s3_url, cfg.bucket, people))
    make_bucket(cfg)
    restore_bucket(cfg)


def restart(cfg: StackConfig, name: str) -> None:
    """Stop one component and start it again with the configuration as it is now."""
    if name == "s3":  # a new S3 server has new keys, which the running components do not hold
        raise HumasError("the S3 server restarts only with the whole stack: make stop && make run")
    if name in running(cfg):
        _stop_groups([running(cfg)[name]], grace=30)
    sec = load_secrets(cfg)
    _start(cfg, name, _commands(cfg)[name], {} if name == "postgres" else _component_env(cfg, sec))


def down(cfg: StackConfig, grace: float = 20.0) -> list[str]:
    """Stop every component's whole process group: TERM, then KILL what is left after ``grace`` seconds.

    The database goes last, so Airflow's components can finish what they write while stopping.
    Returns the names of the components that were running; ``leftovers`` tells whether any survived.
    """
    live = running(cfg)
    if "s3" in live:
        try:
            snapshot_bucket(cfg)
        except Exception as exc:  # stopping must still stop everything
            print(f"warning: could not snapshot the bucket to {cfg.home / 'bucket'}: {exc}", file=sys.stderr)
    database = {n: pid for n, pid in live.items() if n == "postgres"}
    _stop_groups([pid for n, pid in live.items() if n not in database], grace)
    _stop_groups(list(database.values()), grace)
    for name in live:
        _pid_file(cfg, name).unlink(missing_ok=True)
    (cfg.home / "run" / "settings.json").unlink(missing_ok=True)
    return sorted(live)


def discard(cfg: StackConfig) -> list[int]:
    """Stop a throw-away stack (``StackConfig.on_free_ports``) and delete its temp folder and database.

    Returns the process groups that outlived ``down``: none, when all is well.
    """
    groups, database = list(running(cfg).values()), db_dir(cfg)
    down(cfg)
    shutil.rmtree(database, ignore_errors=True)
    shutil.rmtree(cfg.home.parent, ignore_errors=True)
    return leftovers(groups)
