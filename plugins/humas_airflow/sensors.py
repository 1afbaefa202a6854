"""The human-approval sensor: a decision gate of the SOP (``humas.steps.gate``), waiting in the triggerer for
an approver's signed flag without holding a worker slot."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from humas.steps.base import ItemStep, Outcome
from humas.steps.gate import DECISION_WAIT, decide_gate

from humas_airflow.steps import SopStepMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class ApprovalFlagSensor(SopStepMixin, BaseSensorOperator):
    """Waits for a signed decision on exactly what is under review; approve, revise or decline."""

    waits_for = "the approval flag"

    def __init__(self, *, sop_id: str, step_number: int, poll_interval: float = 5.0, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", DECISION_WAIT)
        super().__init__(**kwargs)
        self.sop_id, self.step_number, self.poll_interval = sop_id, step_number, poll_interval

    def run_step(self, item: ItemStep) -> Outcome:
        return decide_gate(item)

    def poke(self, context: "Context") -> bool:  # required by the base class; the work is in execute
        return False
