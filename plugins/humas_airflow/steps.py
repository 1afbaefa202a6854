"""What every SOP-step task shares: which SOP step it is, which item it serves, and the step's SLA check."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from humas import sla
from humas.brief import Brief, read_brief
from humas.exceptions import BriefError
from humas.layout import item_id_from_run_id
from humas.profiles import channel_ids
from humas.sop import Sop, Step, available_sops
from humas.status import note_event, record_state
from humas.timetext import duration_words

from humas_airflow.hooks import API_CONN_ID, BUCKET_CONN_ID, HumasBucketHook
from humas_airflow.triggers import RerunFromTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from humas.store import Store

log = logging.getLogger(__name__)


def item_id_of(context: "Context") -> str:
    """The content item a run serves: its conf, else its deterministic run id."""
    dag_run = context["dag_run"]
    item_id = (dag_run.conf or {}).get("item_id") or item_id_from_run_id(dag_run.run_id)
    if not item_id:
        raise ValueError(f"run {dag_run.run_id} names no content item: start runs through the dispatcher "
                         "or trigger with conf {\"item_id\": \"<folder name in inbox/>\"}")
    return item_id


class SopStepMixin:
    """Mixed into operators and sensors that carry out one step of one SOP."""

    sop_id: str
    step_number: int
    aws_conn_id: str = BUCKET_CONN_ID
    api_conn_id: str = API_CONN_ID

    @cached_property
    def sop(self) -> Sop:
        return available_sops()[self.sop_id]

    @cached_property
    def step(self) -> Step:
        return self.sop.steps[self.step_number - 1]

    def store(self) -> "Store":
        return HumasBucketHook(self.aws_conn_id).get_store()

    def load_brief(self, store: "Store", item_id: str) -> Brief:
        """The item's current brief, validated again (it may have been edited since the dispatch).

        A brief broken by an edit stops the run with the problems on the item's status, not a retry loop.
        """
        try:
            return read_brief(store, item_id, available_sops(), channel_ids())  # reads at most the size cap
        except BriefError as exc:
            record_state(store, item_id, "rejected", step=self.step.task_id, message=str(exc),
                         details={"problems": [p.__dict__ for p in exc.problems]})
            raise AirflowFailException(str(exc)) from exc

    def rerun_from(self, context: "Context", step: Step, message: str) -> None:
        """Send this run back to ``step`` (it and every later step run again), from the triggerer."""
        dag_run = context["dag_run"]
        self.defer(trigger=RerunFromTrigger(dag_run.dag_id, dag_run.run_id, step.task_id, message[:1000],
                                            self.api_conn_id, self.task_id, context["ti"].try_number),
                   method_name="execute_rerun_failed")

    def execute_rerun_failed(self, context: "Context", event: dict[str, Any]) -> Any:
        """The rerun trigger's event arrives only when Airflow refused to send the run back."""
        raise AirflowException(f"could not send the run back a step: {event.get('message')}")

    def enter_step(self, store: "Store", item_id: str, state: str = "in_step", message: str = "") -> None:
        label = f"Langkah {self.step.number}: {self.step.activity}"
        record_state(store, item_id, state, step=self.step.task_id, message=message or label,
                     details={"sop": self.sop_id, "step_number": self.step.number, "actor": self.step.actor})

    def check_step_time(self, context: "Context", store: "Store", item_id: str, brief: Brief | None = None) -> None:
        """Compare the step's duration with its standard time when it ends; record and log a miss."""
        started = context["ti"].start_date or datetime.now(timezone.utc)
        late = sla.overrun(self.step, started, datetime.now(timezone.utc), brief.event_date if brief else None)
        if late is None:
            return
        message = (f"Langkah {self.step.number} ({self.step.activity}) melewati waktu baku "
                   f"{self.step.time.describe()} sebanyak {duration_words(late)}; "
                   f"penanggung jawab: {self.sop.role(self.step.actor).name}")
        log.warning("SLA miss: item %s step %s late by %s", item_id, self.step.task_id, late)
        note_event(store, item_id, "sla_missed", step=self.step.task_id, message=message,
                   details={"late_seconds": int(late.total_seconds()), "role": self.step.actor})


def step_kwargs(sop: Sop, step: Step) -> dict[str, Any]:
    """Task arguments every step task gets: stable id, the SOP's own words in the UI, owner from the role."""
    return {
        "task_id": step.task_id,
        "task_display_name": f"{step.number}. {step.activity}",
        "owner": sop.role(step.actor).name,
        "doc_md": (f"**Langkah {step.number}** — {step.activity}\n\n"
                   f"- Pelaksana: {sop.role(step.actor).name}\n- Kelengkapan: {step.material}\n"
                   f"- Waktu baku: {step.time.text}\n- Output: {step.output}\n"
                   + (f"- Keterangan: {step.note}\n" if step.note else "")),
        "sop_id": sop.id,
        "step_number": step.number,
    }
