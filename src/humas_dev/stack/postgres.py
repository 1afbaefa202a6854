"""The stack's own PostgreSQL cluster for Airflow's database: find the server programs, make the cluster (as
PostgreSQL's own user when we are root), and make Airflow's database once the server takes logins."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from humas.exceptions import HumasError
from humas_dev.stack.config import DB_NAME, DB_USER, POSTGRES_OS_USER, StackConfig
from humas_dev.stack.processes import _db_os_user, running


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
