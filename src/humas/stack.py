"""The embedded stack: S3 server (moto, over HTTP), platform sandbox and Airflow, started and stopped as one.

Production runs the same code on docker-compose (MinIO, Postgres); this is the laptop/CI default, on
PostgreSQL too (a cluster of its own in the stack home: SQLite's single writer locked the scheduler out
during bursts). ``python -m humas.stack up|down|status``. Every component runs in its own process group
with a pid file, so ``down`` can make sure nothing lingers (Airflow's scheduler and its executor workers
included).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import mimetypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import requests

from humas.airflow_api import AirflowApi
from humas.exceptions import HumasError

if TYPE_CHECKING:
    from humas.store import Store

REPO = Path(__file__).resolve().parents[2]
COMPONENTS = ("postgres", "s3", "sandbox", "scheduler", "dag-processor", "triggerer", "api-server")
DB_USER = DB_NAME = "airflow"
POSTGRES_OS_USER = "postgres"  # PostgreSQL refuses to run as root; Debian's package makes this user
PIPELINE_USER = "humas-pipeline"
PLATFORM_ACCOUNTS = {"instagram": "17841400000000001", "facebook": "100000000000001", "x": "1500000000000000001"}


@dataclass
class StackConfig:
    home: Path = REPO / ".stack"
    s3_port: int = 9000
    sandbox_port: int = 8090
    airflow_port: int = 8080
    db_port: int = 5433            # not 5432: a system PostgreSQL may already be there
    worker_log_port: int = 8793    # Airflow's own log servers: two stacks on one machine need their own
    trigger_log_port: int = 8794
    bucket: str = "humas"
    # Executor slots. With the steps' modules preloaded (humas_airflow.preload), a step's wall time is mostly
    # waiting on the platforms and the bucket, so 4 slots left the 2 cores half idle (bench.burst --through).
    parallelism: int = 8
    include_dir: Path = REPO / "include"
    airflow_settings: dict[str, str] = field(default_factory=dict)  # AIRFLOW__* overrides (benchmarks)
    bin_dir: Path = field(default_factory=lambda: Path(sys.executable).parent)

    @classmethod
    def on_free_ports(cls, prefix: str, **settings: object) -> "StackConfig":
        """A throw-away stack (tests, benchmarks) in a new home under the temp dir, every port free.

        The home is 0711 so PostgreSQL's own user can reach its data folder when we run as root
        (pytest's and mkdtemp's folders are 0700).
        """
        home = Path(tempfile.mkdtemp(prefix=prefix))
        home.chmod(0o711)
        ports = {name: _free_port() for name in
                 ("s3_port", "sandbox_port", "airflow_port", "db_port", "worker_log_port", "trigger_log_port")}
        return cls(home=home / "stack", **{**ports, **settings})  # type: ignore[arg-type]

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def airflow_url(self) -> str:
        return f"http://127.0.0.1:{self.airflow_port}"


def load_secrets(cfg: StackConfig) -> dict[str, str]:
    """Generated once per stack home, kept out of the repo (mode 600); a secret added later is generated then."""
    path = cfg.home / "secrets.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    values = {name: secrets.token_urlsafe(24) for name in
              ("s3_access_key", "s3_secret_key", "platform_token", "admin_password", "pipeline_password",
               "db_password")}
    values["jwt_secret"] = secrets.token_urlsafe(64)  # HS512 wants at least 64 bytes
    values["approval_key"] = secrets.token_urlsafe(48)  # signs approval flags; never in the bucket
    # One Fernet key for every component: trigger and callback kwargs are encrypted by one, read by another.
    values["fernet_key"] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    if set(values) <= set(known):
        return known
    cfg.home.mkdir(parents=True, exist_ok=True)
    values.update(known)
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def _connections(cfg: StackConfig, sec: dict[str, str]) -> dict[str, str]:
    bucket = {"conn_type": "aws", "login": sec["s3_access_key"], "password": sec["s3_secret_key"],
              "extra": {"endpoint_url": cfg.s3_url, "region_name": "us-east-1",
                        "config_kwargs": {"s3": {"addressing_style": "path"}},
                        "service_config": {"s3": {"bucket_name": cfg.bucket}}}}
    conns = {"AIRFLOW_CONN_HUMAS_BUCKET": json.dumps(bucket),
             "AIRFLOW_CONN_HUMAS_AIRFLOW_API": json.dumps({"conn_type": "http", "host": cfg.airflow_url,
                                                           "login": PIPELINE_USER,
                                                           "password": sec["pipeline_password"]})}
    for channel, account in PLATFORM_ACCOUNTS.items():
        conns[f"AIRFLOW_CONN_HUMAS_{channel.upper()}"] = json.dumps(
            {"conn_type": "http", "host": cfg.sandbox_url, "password": sec["platform_token"],
             "extra": {"account_id": account, "api_version": "v21.0", "timeout": 10}})
    return conns


def client_env(cfg: StackConfig, sec: dict[str, str]) -> dict[str, str]:
    """What the humas CLI and boto3 need to reach the bucket."""
    return {"HUMAS_S3_ENDPOINT_URL": cfg.s3_url, "HUMAS_BUCKET": cfg.bucket,
            "AWS_ACCESS_KEY_ID": sec["s3_access_key"], "AWS_SECRET_ACCESS_KEY": sec["s3_secret_key"],
            "AWS_DEFAULT_REGION": "us-east-1", "HUMAS_AIRFLOW_URL": cfg.airflow_url,
            "HUMAS_SANDBOX_URL": cfg.sandbox_url, "HUMAS_INCLUDE_DIR": str(cfg.include_dir)}


def airflow_env(cfg: StackConfig, sec: dict[str, str]) -> dict[str, str]:
    """Airflow sized for a 2-core machine: 8 executor slots, one API worker, the stack's PostgreSQL."""
    home = cfg.home / "airflow"
    settings = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(cfg.parallelism),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in airflow_users(cfg).items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(cfg.home / "passwords.json"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{cfg.airflow_url}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url(cfg, sec),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(cfg.airflow_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": cfg.airflow_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # Items waiting at gates keep their runs running; the scheduler looks at this many running runs per
        # loop, never-looked-at first (about 7 ms of CPU each here). A run whose step ended is put first (see
        # humas_airflow.run_app), so the turns only catch what nobody reports (a retry after its delay). With
        # 500 waiting (bench.scheduler_sweep): 5 per loop: scheduler 0.10 cores, a flag's next task running
        # after 3.2 s (p95 4.0); 20 (Airflow's default): 0.24 cores, 3.8 s (p95 4.8); 100: 0.50 cores, 7.6 s.
        "AIRFLOW__SCHEDULER__MAX_DAGRUNS_PER_LOOP_TO_SCHEDULE": "5",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(cfg.worker_log_port),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(cfg.trigger_log_port),
        "HUMAS_INCLUDE_DIR": str(cfg.include_dir),
        "HUMAS_APPROVAL_KEY": sec["approval_key"],
        "HUMAS_WEBHOOK_TOKEN": webhook_token(sec),
    }
    return {**settings, **cfg.airflow_settings, **_connections(cfg, sec), "NO_PROXY": "*", "no_proxy": "*"}


def webhook_token(sec: dict[str, str]) -> str:
    """The bearer token the bucket's event webhook (``/humas-intake``) expects, derived from the stack's secrets."""
    return hmac.new(sec["jwt_secret"].encode(), b"humas-intake-webhook", hashlib.sha256).hexdigest()


def db_url(cfg: StackConfig, sec: dict[str, str]) -> str:
    return f"postgresql+psycopg2://{DB_USER}:{sec['db_password']}@127.0.0.1:{cfg.db_port}/{DB_NAME}"


def postgres_bin_dir() -> Path:
    """The folder with PostgreSQL's server programs: on PATH (Homebrew, most distributions) or Debian's."""
    candidates = [Path(p).resolve().parent for p in (shutil.which("postgres"), shutil.which("initdb")) if p]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for folder in candidates:
        if (folder / "postgres").is_file() and (folder / "initdb").is_file():
            return folder
    raise HumasError("PostgreSQL's server programs (postgres, initdb) were not found: the embedded stack keeps "
                     "Airflow's database in PostgreSQL. `make install` installs Debian's postgresql package "
                     "(as root); elsewhere install PostgreSQL 13 or newer and put its bin folder on PATH.")


# Where the cluster goes when we are root and PostgreSQL's own user cannot enter the stack home (a checkout
# under /root): kept, unlike /tmp, so Airflow's database outlives a reboot as the bucket snapshot does.
ROOT_DB_PARENT = Path("/var/lib/humas-stack")


def db_dir(cfg: StackConfig) -> Path:
    """The PostgreSQL cluster's folder: ``<home>/postgres``, or under ROOT_DB_PARENT (see there)."""
    inside = cfg.home / "postgres"
    if os.geteuid() != 0 or _open_to_others(inside):
        return inside
    return ROOT_DB_PARENT / hashlib.sha256(str(cfg.home.resolve()).encode()).hexdigest()[:16] / "postgres"


def _db_os_user() -> dict[str, object]:
    """Popen arguments that run PostgreSQL as its own user when we are root (it refuses to run as root)."""
    return {"user": POSTGRES_OS_USER, "group": POSTGRES_OS_USER} if os.geteuid() == 0 else {}


def _open_to_others(folder: Path) -> bool:
    """Whether every existing folder above ``folder`` lets other users through."""
    return all(parent.stat().st_mode & 0o001 for parent in folder.parents if parent.exists())


def init_db(cfg: StackConfig, sec: dict[str, str]) -> None:
    """A new PostgreSQL cluster in ``db_dir``, password logins only, unless one is there already."""
    data = db_dir(cfg)
    if (data / "PG_VERSION").exists():
        return
    shutil.rmtree(data, ignore_errors=True)  # a half-made cluster from an interrupted first start
    data.parent.mkdir(parents=True, exist_ok=True)
    data.mkdir(mode=0o700)
    pwfile = data.parent / "db-password"  # where PostgreSQL's user can read it, for initdb only
    pwfile.write_text(sec["db_password"])
    pwfile.chmod(0o600)
    if os.geteuid() == 0:
        for path in (data, pwfile):
            shutil.chown(path, POSTGRES_OS_USER, POSTGRES_OS_USER)
    try:
        subprocess.run([str(postgres_bin_dir() / "initdb"), "-D", str(data), "-U", DB_USER, "--pwfile", str(pwfile),
                        "--auth", "scram-sha-256", "--encoding", "UTF8", "--no-locale"],
                       check=True, stdout=subprocess.DEVNULL, **_db_os_user())  # type: ignore[call-overload]
    finally:
        pwfile.unlink(missing_ok=True)


def create_database(cfg: StackConfig, sec: dict[str, str], timeout: float = 60) -> None:
    """Wait until PostgreSQL takes logins, then make Airflow's database if it is not there yet."""
    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = psycopg2.connect(host="127.0.0.1", port=cfg.db_port, user=DB_USER, password=sec["db_password"],
                                    dbname="postgres", connect_timeout=5)
            break
        except psycopg2.OperationalError:  # still starting (or recovering after a crash)
            if time.monotonic() > deadline or "postgres" not in running(cfg):
                raise RuntimeError(f"PostgreSQL did not accept logins on port {cfg.db_port}; "
                                   f"see {cfg.home / 'logs' / 'postgres.log'}") from None
            time.sleep(0.5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if cur.fetchone() is None:
                cur.execute(f"CREATE DATABASE {DB_NAME}")
    finally:
        conn.close()


def _commands(cfg: StackConfig) -> dict[str, list[str]]:
    py, airflow = str(cfg.bin_dir / "python"), str(cfg.bin_dir / "airflow")
    return {
        # TCP on loopback only, no Unix socket (its default folder belongs to the system's PostgreSQL).
        "postgres": [str(postgres_bin_dir() / "postgres"), "-D", str(db_dir(cfg)), "-p", str(cfg.db_port),
                     "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
        "s3": [py, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(cfg.s3_port)],
        "sandbox": [py, "-m", "humas_dev.sandbox", "--host", "127.0.0.1", "--port", str(cfg.sandbox_port),
                    "--state-file", str(cfg.home / "sandbox-state.json")],
        **{name: [airflow, name] for name in ("scheduler", "dag-processor", "triggerer", "api-server")},
    }


def _pid_file(cfg: StackConfig, name: str) -> Path:
    return cfg.home / "run" / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running(cfg: StackConfig) -> dict[str, int]:
    """Components with a live process, by name."""
    found = {}
    for name in COMPONENTS:
        path = _pid_file(cfg, name)
        if path.exists() and _alive(int(path.read_text())):
            found[name] = int(path.read_text())
    return found


def _start(cfg: StackConfig, name: str, command: list[str], env: dict[str, str]) -> None:
    (cfg.home / "run").mkdir(parents=True, exist_ok=True)
    (cfg.home / "logs").mkdir(parents=True, exist_ok=True)
    log = open(cfg.home / "logs" / f"{name}.log", "ab")
    as_user = _db_os_user() if name == "postgres" else {}
    proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(REPO),
                            **as_user)  # type: ignore[call-overload]
    _pid_file(cfg, name).write_text(str(proc.pid))


def _wait_port(port: int, name: str, timeout: float, cfg: StackConfig) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if name not in running(cfg):
            break
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not start on port {port}; see {cfg.home / 'logs' / (name + '.log')}")


def airflow_users(cfg: StackConfig) -> dict[str, str]:
    """Airflow logins and their Airflow roles: the admin, the pipeline's service account, everyone in a roster."""
    from humas.roster import load_roster
    from humas.sop import available_sops

    users = {"admin": "admin", PIPELINE_USER: "admin"}
    for sop in available_sops(cfg.include_dir / "sops").values():
        try:
            users.update({person_id: "viewer" for person_id in load_roster(sop, cfg.include_dir / "rosters" / f"{sop.id}.yaml").people})
        except HumasError as exc:  # the SOP's gates then wait until its roster is fixed; say so at start-up
            print(f"warning: {exc}", file=sys.stderr)
    return users


def passwords(cfg: StackConfig) -> dict[str, str]:
    """Every login's password: generated once per stack home and kept in ``passwords.json`` (mode 600)."""
    path, sec = cfg.home / "passwords.json", load_secrets(cfg)
    known = json.loads(path.read_text()) if path.exists() else {}
    known.update(admin=sec["admin_password"], **{PIPELINE_USER: sec["pipeline_password"]})
    for user in airflow_users(cfg):
        known.setdefault(user, secrets.token_urlsafe(12))
    return known


def _write_passwords(cfg: StackConfig, sec: dict[str, str]) -> None:
    path = cfg.home / "passwords.json"
    path.write_text(json.dumps(passwords(cfg), indent=1))
    path.chmod(0o600)


def _write_client_env(cfg: StackConfig, sec: dict[str, str]) -> Path:
    path = cfg.home / "humas.env"
    path.write_text("".join(f"export {k}={v}\n" for k, v in client_env(cfg, sec).items()))
    path.chmod(0o600)
    return path


def make_bucket(cfg: StackConfig) -> None:
    client = _store(cfg).client
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if cfg.bucket not in existing:
        client.create_bucket(Bucket=cfg.bucket)


def snapshot_bucket(cfg: StackConfig) -> int:
    """Copy every object to ``<home>/bucket/`` (the embedded S3 server keeps objects in memory only).

    Written beside the old snapshot first and swapped in at the end, so a failed copy loses nothing.
    """
    store, target, fresh = _store(cfg), cfg.home / "bucket", cfg.home / "bucket.new"
    shutil.rmtree(fresh, ignore_errors=True)
    count = 0
    for obj in store.list(""):
        parts = obj.key.split("/")
        if ".." in parts or obj.key.startswith("/"):  # a key that would land outside the snapshot
            print(f"warning: not snapshotting object {obj.key!r}", file=sys.stderr)
            continue
        path = fresh.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.get_bytes(obj.key) or b"")
        count += 1
    shutil.rmtree(target, ignore_errors=True)
    if fresh.exists():
        fresh.rename(target)
    return count


def restore_bucket(cfg: StackConfig) -> int:
    """Put the last snapshot back into an empty bucket, so `make stop` / `make run` loses nothing."""
    store, source = _store(cfg), cfg.home / "bucket"
    if not source.is_dir() or next(iter(store.list("")), None) is not None:
        return 0
    files = [p for p in sorted(source.rglob("*")) if p.is_file()]
    for path in files:
        key = path.relative_to(source).as_posix()
        store.put_bytes(key, path.read_bytes(), mimetypes.guess_type(key)[0] or "application/octet-stream")
    return len(files)


def up(cfg: StackConfig) -> None:
    """Start every component that is not running; return when Airflow answers and the bucket exists."""
    sec = load_secrets(cfg)
    _write_passwords(cfg, sec)
    env = _component_env(cfg, sec)
    commands = _commands(cfg)
    if "postgres" not in running(cfg):
        init_db(cfg, sec)
        _start(cfg, "postgres", commands["postgres"], {})
    create_database(cfg, sec)
    live = running(cfg)
    if "scheduler" not in live:
        subprocess.run([str(cfg.bin_dir / "airflow"), "db", "migrate"], env={**os.environ, **env}, check=True,
                       stdout=subprocess.DEVNULL, cwd=str(REPO))
    for name, command in commands.items():
        if name not in live:
            _start(cfg, name, command, env)
    _wait_port(cfg.s3_port, "s3", 30, cfg)
    make_bucket(cfg)
    restore_bucket(cfg)
    _wait_port(cfg.sandbox_port, "sandbox", 30, cfg)
    _wait_port(cfg.airflow_port, "api-server", 180, cfg)
    _write_client_env(cfg, sec)


def restart(cfg: StackConfig, name: str) -> None:
    """Stop one component and start it again with the configuration as it is now."""
    if name in running(cfg):
        _stop_groups([running(cfg)[name]], grace=30)
    sec = load_secrets(cfg)
    _start(cfg, name, _commands(cfg)[name], {} if name == "postgres" else _component_env(cfg, sec))


def _component_env(cfg: StackConfig, sec: dict[str, str]) -> dict[str, str]:
    """What the Airflow components and the sandbox are started with."""
    return {**airflow_env(cfg, sec), "HUMAS_SANDBOX_TOKEN": sec["platform_token"]}


def wait_for_dags(cfg: StackConfig, dag_ids: list[str], timeout: float = 180) -> None:
    """Block until the DAG processor has parsed every DAG in ``dag_ids``."""
    deadline = time.monotonic() + timeout
    missing = set(dag_ids)
    while time.monotonic() < deadline:
        missing = {d for d in missing if api_get(cfg, f"/api/v2/dags/{d}").status_code != 200}
        if not missing:
            return
        time.sleep(2)
    raise RuntimeError(f"DAGs not parsed after {timeout}s: {sorted(missing)}; see {cfg.home / 'logs'}")


def api_token(cfg: StackConfig) -> str:
    return AirflowApi(cfg.airflow_url, "admin", load_secrets(cfg)["admin_password"]).token()


def api_get(cfg: StackConfig, path: str, token: str | None = None) -> requests.Response:
    return requests.get(f"{cfg.airflow_url}{path}", headers={"Authorization": f"Bearer {token or api_token(cfg)}"},
                        timeout=30)


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
    for name in COMPONENTS:
        _pid_file(cfg, name).unlink(missing_ok=True)
    return sorted(live)


def _stop_groups(pgids: list[int], grace: float) -> None:
    for pid in pgids:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in pgids):
        time.sleep(0.3)
    for pid in pgids:
        _signal_group(pid, signal.SIGKILL)


def discard(cfg: StackConfig) -> list[int]:
    """Stop a throw-away stack (``StackConfig.on_free_ports``) and delete its temp folder and database.

    Returns the process groups that outlived ``down``: none, when all is well.
    """
    groups, database = list(running(cfg).values()), db_dir(cfg)
    down(cfg)
    shutil.rmtree(database, ignore_errors=True)
    shutil.rmtree(cfg.home.parent, ignore_errors=True)
    return leftovers(groups)


def leftovers(pgids: list[int]) -> list[int]:
    """The process groups among ``pgids`` that still have a live process."""
    return [pgid for pgid in pgids if _group_alive(pgid)]


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (a zombie waiting to be reaped does not count)."""
    _reap(pgid)
    for proc in psutil.process_iter(["pid", "status"]):
        if proc.info["status"] != psutil.STATUS_ZOMBIE and _pgid(proc.pid) == pgid:
            return True
    return False


def _reap(pid: int) -> None:
    """Collect the exit status of a component this process started itself (else it lingers as a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def component_processes(pid: int) -> list[psutil.Process]:
    """A component's processes: its process group, and its leader's descendants (PostgreSQL's backends each
    start a session of their own)."""
    found = {p.pid: p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pid}
    try:
        found.update((p.pid, p) for p in psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        pass
    return list(found.values())


def stack_memory_mb(cfg: StackConfig) -> dict[str, float]:
    """Resident memory of each component, in MB."""
    usage = {}
    for name, pid in running(cfg).items():
        total = 0
        for proc in component_processes(pid):
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        usage[name] = total / 2**20
    return usage


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def wait_for_state(store: "Store", item_id: str, states: set[str], timeout: float, step: str | None = None) -> dict:
    """Poll the item's status until it is in one of ``states`` (at ``step``, if given); return the status."""
    from humas.status import read_status

    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        status = read_status(store, item_id) or {}
        if status.get("state") in states and step in (None, status.get("step")):
            return status
        time.sleep(1)
    raise RuntimeError(f"item {item_id} did not reach {sorted(states)} in {timeout:.0f}s (last: {status.get('state')})")


def run(cfg: StackConfig) -> None:
    """``make run``: the stack, the SOP DAGs, and the sample item waiting for its approver."""
    from humas.cli import main as humas_cli
    from humas_dev.sample import SAMPLE_ITEM, make_sample_item
    from humas.sop import available_sops
    from humas.status import read_status

    print("starting the S3 server, the platform sandbox and Airflow (about a minute)...")
    up(cfg)
    wait_for_dags(cfg, ["humas_dispatcher", *(s.dag_id for s in available_sops().values())])
    os.environ.update(client_env(cfg, load_secrets(cfg)))
    status = read_status(_store(cfg), SAMPLE_ITEM)
    if status is None:  # a first start; after a restart the sample is where it was left
        humas_cli(["submit", str(make_sample_item(cfg.home / "sample"))])
        status = wait_for_state(_store(cfg), SAMPLE_ITEM, {"awaiting_approval", "assets_failed", "rejected"}, 300)
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


def _store(cfg: StackConfig) -> "Store":
    import boto3

    from humas.store import Store

    sec = load_secrets(cfg)
    client = boto3.client("s3", endpoint_url=cfg.s3_url, aws_access_key_id=sec["s3_access_key"],
                          aws_secret_access_key=sec["s3_secret_key"], region_name="us-east-1")
    return Store(client, cfg.bucket)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m humas.stack", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("run", "up", "down", "status", "clean"))
    args = parser.parse_args(argv)
    cfg = StackConfig()
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


if __name__ == "__main__":
    sys.exit(main())
