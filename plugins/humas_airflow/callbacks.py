"""Callbacks: deadline alerts (a run passed a SOP step's cumulative deadline) and the step-done nudge. A step's
80% reminder is not a run deadline: it counts from when that step started, so the waiting step sends it
(``humas.notify.remind_or_escalate``)."""
from __future__ import annotations

import asyncio
import functools
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from humas import notify
from humas.layout import item_id_from_run_id
from humas.sop import available_sops

from humas_airflow.hooks import API_CONN_ID, BUCKET_CONN_ID, AirflowApiHook, HumasBucketHook
from humas_airflow.notifiers import NotifierTransport

if TYPE_CHECKING:
    from humas.store import Store

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _bucket() -> "Store":
    """One bucket client for every callback in this triggerer (a wave of deadlines must not build one each)."""
    return HumasBucketHook(BUCKET_CONN_ID).get_store()


def record_late_step(run_id: str, sop_id: str, step_number: int, deadline_time: Any) -> str | None:
    """The run's deadline for step ``step_number`` passed: record the miss and tell its people
    (``humas.notify.escalate_late_step``)."""
    item_id, sop = item_id_from_run_id(run_id), available_sops().get(sop_id)
    if item_id is None or sop is None:
        return None
    return notify.escalate_late_step(_bucket(), sop, item_id, step_number, _moment(deadline_time),
                                     NotifierTransport())


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _run_and_deadline(context: dict[str, Any]) -> tuple[str, Any]:
    """A deadline callback's run id and the deadline's time, from its context."""
    dag_run = context.get("dag_run", {})
    return dag_run.get("dag_run_id") or dag_run.get("run_id", ""), context.get("deadline", {}).get("deadline_time")


async def step_deadline_missed(context: dict[str, Any], sop_id: str, step_number: int, **_: Any) -> None:
    """Deadline Alert callback (runs in the triggerer): record and log the late step of the run."""
    dag_run = context.get("dag_run", {})
    run_id, deadline_time = _run_and_deadline(context)
    # The loop's thread pool, not asgiref's single shared thread that the bucket polls also need.
    message = await asyncio.to_thread(record_late_step, run_id, sop_id, step_number, deadline_time)
    if message:
        log.warning("SLA miss on %s %s: %s", dag_run.get("dag_id"), run_id, message)


async def step_reminder_due(context: dict[str, Any], sop_id: str, step_number: int, **_: Any) -> None:
    """Named by the reminder deadlines of runs started before reminders moved to the waiting step: nothing to
    do (the step sends its reminder itself), but the callback must still import."""


def schedule_next_step(context: dict[str, Any]) -> None:
    """Task callback after a step succeeds, is skipped or fails (its state is already stored): ask the
    scheduler to look at the run in its next loop, so the next step starts in about a second however many
    items wait at gates (see ``humas_airflow.run_app``). Never fails the step: the scheduler reaches the run
    in its turn."""
    dag_run = context["dag_run"]
    try:
        if AirflowApiHook(API_CONN_ID, timeout=5).schedule_next(dag_run.dag_id, dag_run.run_id):
            log.info("the scheduler looks at run %s next", dag_run.run_id)
    except Exception as exc:
        log.warning("could not ask the scheduler to schedule the next step of run %s now (%s); it will get to "
                    "the run in its turn", dag_run.run_id, exc)
