"""What the plugin assumes of Airflow's insides (see the notes in run_app).

Each test fails when an upgrade changes what the code relies on, also where production would only get
slower without an error: the scheduler no longer picking cleared runs first.
The preload's assumptions are tested in test_preload.py.
"""
from __future__ import annotations

import inspect
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
from airflow.models.dagrun import DagRun

from humas_airflow.run_app import schedule_next

# --- run_app: the scheduler looks at never-looked-at runs first ---------------------------------------------


class _CapturingSession:
    """Enough of a SQLAlchemy session on PostgreSQL (the stack's database) to catch the query it is given."""

    bind = SimpleNamespace(dialect=postgresql.dialect())
    statement: Any = None

    def get_bind(self) -> Any:
        return self.bind

    def scalars(self, statement: Any) -> Any:
        self.statement = statement
        return SimpleNamespace(unique=lambda: [])

    def rollback(self) -> None:
        pass


def test_the_scheduler_picks_its_running_runs_never_looked_at_first():
    # The scheduler loop takes its running runs from this query ...
    assert "DagRun.get_running_dag_runs_to_examine(session=session)" in inspect.getsource(
        SchedulerJobRunner._do_scheduling)
    # ... which puts runs whose last_scheduling_decision is NULL first: what run_app's clear relies on.
    session = _CapturingSession()
    DagRun.get_running_dag_runs_to_examine(session=session)
    sql = str(session.statement.compile(dialect=postgresql.dialect()))
    order = re.search(r"ORDER BY (.*?)\s+LIMIT", sql, re.S)
    assert order, sql
    keys = [key.strip() for key in order.group(1).split(",")]
    # Backfill runs come after all others (their sort_ordinal is set, ours is NULL): not a key among our runs.
    keys = [key for key in keys if key != "backfill_dag_run.sort_ordinal NULLS FIRST"]
    assert keys[0] == "dag_run.last_scheduling_decision NULLS FIRST", sql
    assert "last_scheduling_decision" not in sql.split("ORDER BY")[0].split("FROM", 1)[1], \
        "the scheduler now filters on last_scheduling_decision: " + sql


@pytest.fixture()
def dag_runs() -> Iterator[Session]:
    """Airflow's own dag_run table (its ORM model) in an in-memory database."""
    engine = create_engine("sqlite://")
    DagRun.__table__.create(engine)
    with Session(engine) as session:
        yield session


def _add_run(session: Session, run_id: str, state: str, looked_at: datetime) -> None:
    session.execute(insert(DagRun.__table__).values(
        dag_id="humas_sop_singkawang", run_id=run_id, state=state, run_type="manual", run_after=looked_at,
        last_scheduling_decision=looked_at, log_template_id=None))
    session.commit()


def _looked_at(session: Session) -> dict[str, datetime | None]:
    table = DagRun.__table__
    return dict(session.execute(select(table.c.run_id, table.c.last_scheduling_decision)).all())


def test_schedule_next_clears_the_running_runs_last_look_in_airflows_dag_run_table(dag_runs):
    looked_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    _add_run(dag_runs, "item__waiting", "running", looked_at)
    _add_run(dag_runs, "item__asking", "running", looked_at)
    _add_run(dag_runs, "item__done", "success", looked_at)

    assert schedule_next("humas_sop_singkawang", "item__asking", dag_runs)["scheduled_next"] is True
    assert schedule_next("humas_sop_singkawang", "item__done", dag_runs)["scheduled_next"] is False
    assert _looked_at(dag_runs) == {"item__waiting": looked_at, "item__asking": None, "item__done": looked_at}
