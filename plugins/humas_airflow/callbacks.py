"""Deadline-alert callbacks: the scheduler fires them when a run passes a SOP step's cumulative deadline."""
from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async

from humas.layout import item_id_from_run_id
from humas.sop import available_sops
from humas.status import note_event, read_status

from humas_airflow.hooks import BUCKET_CONN_ID, HumasBucketHook

log = logging.getLogger(__name__)
# Once an item is in one of these states, a late deadline for an earlier step is no longer news.
_FINISHED = {"published", "declined", "rejected"}


def _record_if_open(run_id: str, sop_id: str, step_number: int, deadline_time: str) -> str | None:
    item_id = item_id_from_run_id(run_id)
    if item_id is None:
        return None
    sop = available_sops()[sop_id]
    step = sop.steps[step_number - 1]
    store = HumasBucketHook(BUCKET_CONN_ID).get_store()
    status = read_status(store, item_id) or {}
    current = next((s for s in sop.steps if s.task_id == status.get("step")), None)
    if status.get("state") in _FINISHED or (current is not None and current.number > step_number):
        return None  # the step ended in time for the run as a whole; its own duration is checked at its end
    message = (f"Langkah {step.number} ({step.activity}) belum selesai pada batas waktu {deadline_time} "
               f"(waktu baku {step.time.describe()}); penanggung jawab: {sop.role(step.actor).name}")
    note_event(store, item_id, "sla_missed", step=step.task_id, message=message,
               details={"deadline": deadline_time, "role": step.actor})
    return message


async def step_deadline_missed(context: dict[str, Any], sop_id: str, step_number: int, **_: Any) -> None:
    """Record an SLA miss on the item if the step is still open when the run's deadline for it passes."""
    run_id = context["dag_run"]["run_id"]
    deadline_time = str(context.get("deadline", {}).get("deadline_time"))
    message = await sync_to_async(_record_if_open)(run_id, sop_id, step_number, deadline_time)
    if message:
        log.warning("SLA miss on %s: %s", run_id, message)
