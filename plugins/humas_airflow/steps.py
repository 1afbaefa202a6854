"""What every SOP-step task shares: which SOP step it is, which item it serves, and how the step's outcome
(``humas.steps.base``) becomes Airflow's: a result, a deferral, a send-back, a skip or a failure."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from humas.exceptions import HumasError, ItemRefused, StepFailed
from humas.layout import item_id_from_run_id
from humas.sop import Sop, Step, available_sops
from humas.steps.base import Declined, ItemStep, Outcome, SendBack, WaitForChange, WaitUntil

from humas_airflow.hooks import API_CONN_ID, BUCKET_CONN_ID, AirflowApiHook, HumasBucketHook
from humas_airflow.notifiers import NotifierTransport
from humas_airflow.triggers import BucketChangeTrigger, RerunFromTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)


def item_id_of(context: "Context") -> str:
    """The content item a run serves: its conf, else its deterministic run id."""
    dag_run = context["dag_run"]
    item_id = (dag_run.conf or {}).get("item_id") or item_id_from_run_id(dag_run.run_id)
    if not item_id:
        raise ValueError(f"run {dag_run.run_id} names no content item: start runs through the dispatcher "
                         "or trigger with conf {\"item_id\": \"<folder name in inbox/>\"}")
    return item_id


def _run_began(context: "Context") -> datetime | None:
    """When the item's run began (Airflow's record, not the bucket's): its logical date or ``run_after``."""
    run = context.get("dag_run")
    return getattr(run, "logical_date", None) or getattr(run, "run_after", None) or getattr(run, "start_date", None)


class SopStepMixin:
    """Mixed into the operator or sensor of each step kind: ``run_step`` is the kind's core function."""

    sop_id: str
    step_number: int
    aws_conn_id: str = BUCKET_CONN_ID
    api_conn_id: str = API_CONN_ID
    poll_interval: float = 5.0
    waits_for = "the step's input"  # what a failed wait names

    @cached_property
    def sop(self) -> Sop:
        return available_sops()[self.sop_id]

    @cached_property
    def step(self) -> Step:
        return self.sop.steps[self.step_number - 1]

    def run_step(self, item: ItemStep) -> Outcome:
        raise NotImplementedError

    def execute(self, context: "Context") -> Any:
        return self._carry_out(context)

    def execute_complete(self, context: "Context", event: Any = None) -> Any:
        """After a wait (something changed, or it is time to look again): go on unless the wait itself failed
        (a bucket that stayed unreachable)."""
        if isinstance(event, dict) and event.get("status") not in (None, "changed", "wake"):
            raise AirflowException(f"waiting for {self.waits_for} failed: {event.get('message')}")
        return self._carry_out(context)

    def item_step(self, context: "Context") -> ItemStep:
        ti = context["ti"]
        return ItemStep(HumasBucketHook(self.aws_conn_id).get_store(), item_id_of(context), self.sop, self.step,
                        earlier=lambda task_id: ti.xcom_pull(task_ids=task_id),
                        started=ti.start_date or datetime.now(timezone.utc), transport=NotifierTransport(),
                        accepted=_run_began(context), last_try=ti.try_number > ti.max_tries)

    def _carry_out(self, context: "Context") -> Any:
        item = self.item_step(context)
        try:
            outcome = self.run_step(item)
        except ItemRefused as exc:  # the brief broke after an edit: retrying cannot help
            raise AirflowFailException(str(exc)) from exc
        except StepFailed as exc:
            raise AirflowException(str(exc)) from exc
        if isinstance(outcome, WaitForChange):
            wake_at = outcome.wake_at.isoformat() if outcome.wake_at else None
            remind = {"item_id": item_id_of(context), "sop_id": self.sop.id, "step_number": self.step.number,
                      "since": outcome.since.isoformat(), "title": item.title} if outcome.since and wake_at else None
            self.defer(trigger=BucketChangeTrigger(outcome.prefix, outcome.seen, self.aws_conn_id,
                                                   self.poll_interval, wake_at, remind),
                       method_name="execute_complete", timeout=outcome.timeout)
        if isinstance(outcome, WaitUntil):
            self.defer(trigger=DateTimeTrigger(moment=outcome.moment), method_name="execute_complete")
        if isinstance(outcome, SendBack):
            self._rerun_from(context, outcome.to, outcome.message)
        if isinstance(outcome, Declined):
            self._note_run(context, outcome.message)
            raise AirflowSkipException(outcome.message)
        return outcome

    def _note_run(self, context: "Context", note: str) -> None:
        """Put the decline on the run itself ("Ditolak oleh ..."): a skipped run otherwise shows as a success.
        A refused note is logged; the decline is recorded on the item either way."""
        dag_run = context["dag_run"]
        try:
            AirflowApiHook(self.api_conn_id).set_run_note(dag_run.dag_id, dag_run.run_id, note)
        except (HumasError, OSError) as exc:
            log.warning("could not set the note of run %s: %s", dag_run.run_id, exc)

    def _rerun_from(self, context: "Context", step: Step, message: str) -> None:
        """Send this run back to ``step`` (it and every later step run again), from the triggerer."""
        dag_run = context["dag_run"]
        self.defer(trigger=RerunFromTrigger(dag_run.dag_id, dag_run.run_id, step.task_id, message[:1000],
                                            self.api_conn_id, self.task_id, context["ti"].try_number),
                   method_name="execute_rerun_failed")

    def execute_rerun_failed(self, context: "Context", event: dict[str, Any]) -> Any:
        """The rerun trigger's event arrives only when Airflow refused to send the run back."""
        raise AirflowException(f"could not send the run back a step: {event.get('message')}")


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
