"""Builds one DAG per SOP from its YAML: the DAG's shape, labels, owners and SLA deadlines come from there."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, AsyncCallback, DeadlineAlert, DeadlineReference

from humas import sla
from humas.queues import KIND_QUEUES
from humas.sop import Sop, Step

from humas_airflow.callbacks import schedule_next_step, step_deadline_missed
from humas_airflow.operators import IntakeOperator, PublishOperator, WorkStepOperator
from humas_airflow.sensors import ApprovalFlagSensor
from humas_airflow.steps import step_kwargs

MAX_ACTIVE_ITEM_RUNS = 100_000  # items in flight per SOP, waiting ones included

# The task of each step kind (``humas.sop.STAGE_KINDS``); each hands its step to ``humas.steps.<kind>``.
KIND_TASKS: dict[str, type] = {
    "intake": IntakeOperator,
    "work": WorkStepOperator,
    "gate": ApprovalFlagSensor,
    "upload": PublishOperator,
}


def deadlines(sop: Sop) -> list[DeadlineAlert]:
    """One run deadline per timed step: the run's logical date (when the dispatcher accepted the item) + the
    standard times of every step up to it.

    Not DAGRUN_QUEUED_AT: Airflow 3.3.2 fails to clear a run with queued-at deadlines (TypeError in
    _recalculate_dagrun_queued_at_deadlines), and a revise sends the run back a step by clearing it; the
    SOP's clock also should not restart when an item goes round the revise loop.
    """
    return [
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
            interval=b.due_after_start,
            callback=AsyncCallback(step_deadline_missed, kwargs={"sop_id": sop.id, "step_number": b.step.number}),
            name=f"sla_{b.step.task_id}",
        )
        for b in sla.budgets(sop)
        if b.due_after_start is not None
    ]


def _step_task(sop: Sop, step: Step) -> Any:
    return KIND_TASKS[step.kind](queue=KIND_QUEUES[step.kind], **step_kwargs(sop, step))


def build_sop_dag(sop: Sop) -> DAG:
    """The DAG for one SOP: one task per SOP step, in order (the upload records the post links)."""
    with DAG(
        dag_id=sop.dag_id,
        dag_display_name=f"{sop.title} — {sop.agency}",
        description=f"SOP {sop.number or sop.id}: {sop.title}"[:200],
        doc_md=sop.table_markdown(),
        schedule=None,  # runs are started per content item by the dispatcher
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        # A run waits days at its approval gates and still counts as active: a cap here would leave every
        # later item queued behind the first ones (16 reached the gate in a 100-item burst). Work is limited
        # by executor slots instead; waiting runs hold none.
        max_active_runs=MAX_ACTIVE_ITEM_RUNS,
        tags=["humas", "sop", sop.id],
        deadline=deadlines(sop),
        # Every step is safe to run again (a gate finds a decision already taken, publishing never posts
        # twice). Airflow 3.3.2 can fail a task resumed moments after it deferred (the deferring process's
        # late "success" event arrives while it runs again); a retry carries on where it was.
        # The callbacks put the run first in the scheduler's next loop when a step ends (see run_app); a step
        # that failed for good too, so the run shows as failed at once. A retry waits for the run's turn.
        # "upstream": a later step outranks an earlier one for a free slot, so in a burst items already under
        # way go on to their gates and posts before new items start (Airflow's default does the opposite:
        # every item's first step, then every item's second...).
        default_args={"retries": 2, "retry_delay": timedelta(seconds=10), "weight_rule": "upstream",
                      "on_success_callback": schedule_next_step, "on_skipped_callback": schedule_next_step,
                      "on_failure_callback": schedule_next_step},
    ) as dag:
        tasks = [_step_task(sop, step) for step in sop.steps]
        for upstream, downstream in zip(tasks, tasks[1:]):
            upstream >> downstream
    return dag


def build_broken_sop_dag(sop_file_stem: str, error: Exception) -> DAG:
    """A placeholder DAG for a SOP file that does not load: ops see the file's problems in the UI.

    Its one task fails with the same message, so a bad file is loud without hiding the other SOPs' DAGs.
    """
    message = str(error)
    with DAG(
        dag_id=f"humas_sop_{sop_file_stem}",
        description=f"SOP file {sop_file_stem}.yaml does not load: fix it",
        doc_md=f"## SOP file cannot be loaded\n\n```\n{message}\n```",
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        tags=["humas", "sop", "sop-error"],
    ) as dag:
        from airflow.providers.standard.operators.python import PythonOperator

        PythonOperator(task_id="fix_sop_file", python_callable=_raise_sop_error, op_args=[message])
    return dag


def _raise_sop_error(message: str) -> None:
    raise ValueError(message)
