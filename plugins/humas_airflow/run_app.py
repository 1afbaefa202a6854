"""Lets a finished SOP step put its run first in the scheduler's next look, so the next step starts at once.

Mounted by the API server at ``/humas-runs``. Airflow 3.3's scheduler looks at running runs in turns:
each loop takes ``max_dagruns_per_loop_to_schedule`` of them, the one whose last look is oldest first.
Items wait days at their approval gates, so hundreds of runs are running; a run whose gate was just
approved waited its turn (10 s with 500 waiting and 100 per loop, 30 s with Airflow's default of 20).
The scheduler has no way to be told "this run changed" (3.x dropped the mini-scheduler), so after each
step the task asks here, and we clear the run's ``last_scheduling_decision``: the scheduler looks at runs
never looked at first, which is how it treats a run it has just started. Nothing else about the run
changes; a lost request only costs the wait it would have had anyway.

Airflow internals relied on: Airflow 3.3 has no public way to do this (its REST API's DAG-run PATCH takes
only a state and a note; clearing task instances restarts them), so we write the metadata database:
- the ``dag_run.last_scheduling_decision`` column, through the ORM's ``DagRun.last_scheduling_decision``.
  Renamed or dropped, this endpoint answers 500; the steps log "could not ask the scheduler" and go on at
  the old pace.
- the order of the scheduler's pick, ``DagRun.get_running_dag_runs_to_examine`` (``:meta private:``):
  never-looked-at runs first (``nulls_first(last_scheduling_decision)``, after backfill runs' own order).
  If Airflow orders them another way, the clear does nothing useful and nothing fails: approved items just
  wait their turn again, seen only as slower runs.
tests/unit/test_airflow_internals.py checks both against the installed Airflow.
"""
from __future__ import annotations

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import select, update

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.models.dagrun import DagRun
from airflow.utils.state import DagRunState

SCHEDULE_NEXT_PATH = "/dags/{dag_id}/runs/{run_id}/schedule-next"

app = FastAPI(title="Humas runs", description="Put a run whose step just ended first in the scheduler's next loop.")


@app.post(SCHEDULE_NEXT_PATH, dependencies=[Depends(requires_access_dag("PUT", DagAccessEntity.RUN))])
def schedule_next(dag_id: str, run_id: str, session: SessionDep) -> dict[str, object]:
    """Make the scheduler look at this running run in its next loop (whoever may edit the DAG's runs may ask)."""
    state = session.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if state is None:
        raise HTTPException(404, f"DAG {dag_id} has no run {run_id}")
    if state != DagRunState.RUNNING:
        # Queued runs are started in order anyway and finished ones have nothing to schedule.
        return {"dag_id": dag_id, "run_id": run_id, "state": str(state), "scheduled_next": False}
    # Private: the scheduler's bookkeeping column (see the module's notes).
    session.execute(update(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id,
                                         DagRun.state == DagRunState.RUNNING)
                    .values(last_scheduling_decision=None).execution_options(synchronize_session=False))
    session.commit()
    return {"dag_id": dag_id, "run_id": run_id, "state": str(state), "scheduled_next": True}
