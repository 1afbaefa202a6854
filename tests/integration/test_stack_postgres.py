"""The embedded stack's PostgreSQL: a cluster of its own in the stack home, password logins, nothing left running."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import psycopg2
import pytest

from humas_dev import stack
from humas_dev.stack import postgres


@pytest.fixture()
def db_cfg() -> Iterator[stack.StackConfig]:
    cfg = stack.StackConfig.on_free_ports("humas-db-test-")
    cfg.home.mkdir(parents=True, exist_ok=True)  # no S3 server here: stand-in keys for the bucket connections
    stack.write_bucket_keys(cfg, {n: {"access_key": "k", "secret_key": "s"} for n in ("humas-pipeline", "humas-approvals")})
    try:
        yield cfg
    finally:
        assert stack.discard(cfg) == [], "PostgreSQL survived stack.down()"


def _start_db(cfg: stack.StackConfig) -> dict[str, str]:
    sec = stack.load_secrets(cfg)
    stack.init_db(cfg, sec)
    stack.restart(cfg, "postgres")
    stack.create_database(cfg, sec)
    return sec


def test_airflow_database_takes_the_stack_password_and_refuses_others(db_cfg: stack.StackConfig) -> None:
    sec = _start_db(db_cfg)
    url = stack.airflow_env(db_cfg, sec)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert url == stack.db_url(db_cfg, sec) and f":{db_cfg.db_port}/airflow" in url
    with psycopg2.connect(host="127.0.0.1", port=db_cfg.db_port, user="airflow", password=sec["db_password"],
                          dbname="airflow") as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone() == ("airflow",)
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host="127.0.0.1", port=db_cfg.db_port, user="airflow", password="wrong", dbname="airflow")


def test_database_and_its_rows_survive_a_restart(db_cfg: stack.StackConfig) -> None:
    sec = _start_db(db_cfg)
    conn = psycopg2.connect(host="127.0.0.1", port=db_cfg.db_port, user="airflow", password=sec["db_password"],
                            dbname="airflow")
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('masih ada')")
    conn.close()
    stack.down(db_cfg)
    assert "postgres" not in stack.running(db_cfg)

    _start_db(db_cfg)  # the same cluster again: no new initdb, the database is not made twice
    with psycopg2.connect(host="127.0.0.1", port=db_cfg.db_port, user="airflow", password=sec["db_password"],
                          dbname="airflow") as conn, conn.cursor() as cur:
        cur.execute("SELECT note FROM kept")
        assert cur.fetchall() == [("masih ada",)]


def test_as_root_a_home_postgres_cannot_enter_keeps_its_cluster_outside(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    base = Path(tempfile.mkdtemp())  # not pytest's tmp_path: its folders are closed to other users
    try:
        base.chmod(0o711)
        monkeypatch.setattr(os, "geteuid", lambda: 0)
        monkeypatch.setattr(postgres, "ROOT_DB_PARENT", tmp_path / "var-lib")
        open_home = stack.StackConfig(home=base / "open" / "stack")
        assert stack.db_dir(open_home) == base / "open" / "stack" / "postgres"
        closed = base / "closed"
        closed.mkdir(mode=0o700)
        closed_home = stack.StackConfig(home=closed / "stack")
        outside = stack.db_dir(closed_home)
        assert outside.parent.parent == tmp_path / "var-lib" and outside.name == "postgres"
        assert stack.db_dir(stack.StackConfig(home=closed / "other")) != outside  # one cluster per stack home
    finally:
        shutil.rmtree(base)


def test_server_programs_are_found() -> None:
    folder = stack.postgres_bin_dir()
    assert (folder / "postgres").is_file() and (folder / "initdb").is_file()


def test_a_component_counts_the_backends_postgres_starts_in_sessions_of_their_own(db_cfg: stack.StackConfig) -> None:
    sec = _start_db(db_cfg)
    with psycopg2.connect(host="127.0.0.1", port=db_cfg.db_port, user="airflow", password=sec["db_password"],
                          dbname="airflow") as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
        counted = {p.pid for p in stack.component_processes(stack.running(db_cfg)["postgres"])}
        assert backend in counted
        assert stack.stack_memory_mb(db_cfg)["postgres"] > 0


def test_restart_starts_one_component_again_with_the_settings_as_they_are_now(db_cfg: stack.StackConfig) -> None:
    sec = _start_db(db_cfg)
    before = stack.running(db_cfg)["postgres"]
    db_cfg.airflow_settings = {"AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.25"}
    assert stack.airflow_env(db_cfg, sec)["AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"] == "0.25"
    stack.restart(db_cfg, "postgres")
    assert stack.running(db_cfg)["postgres"] != before and not stack.leftovers([before])
    stack.create_database(db_cfg, sec)  # takes logins again


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as its own user only when we are root")
def test_as_root_a_stack_in_a_closed_folder_still_gets_its_database(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setattr(postgres, "ROOT_DB_PARENT", Path(tempfile.mkdtemp()))  # /tmp: open to others
    postgres.ROOT_DB_PARENT.chmod(0o755)
    cfg = stack.StackConfig.on_free_ports("humas-db-closed-")
    cfg.home.parent.chmod(0o700)  # like a checkout under /root
    try:
        sec = _start_db(cfg)
        assert postgres.ROOT_DB_PARENT in stack.db_dir(cfg).parents
        psycopg2.connect(host="127.0.0.1", port=cfg.db_port, user="airflow", password=sec["db_password"],
                         dbname="airflow").close()
    finally:
        stack.discard(cfg)
        shutil.rmtree(postgres.ROOT_DB_PARENT, ignore_errors=True)
