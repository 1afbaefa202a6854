"""The operators of the SOP steps: each hands its step to the core function of its kind (``humas.steps``)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator

from humas.steps.base import ItemStep, Outcome
from humas.steps.intake import take_in
from humas.steps.upload import publish_item
from humas.steps.work import do_work

from humas_airflow.hooks import PlatformHook
from humas_airflow.steps import SopStepMixin


class SopStepOperator(SopStepMixin, BaseOperator):
    """An operator that carries out step ``step_number`` of SOP ``sop_id``."""

    def __init__(self, *, sop_id: str, step_number: int, poll_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sop_id, self.step_number, self.poll_interval = sop_id, step_number, poll_interval


class IntakeOperator(SopStepOperator):
    """An intake step (``humas.steps.intake``): the brief checked again, the narration checked per channel."""

    def run_step(self, item: ItemStep) -> Outcome:
        return take_in(item)


class WorkStepOperator(SopStepOperator):
    """A work step (``humas.steps.work``): waits for its person's delivery; a design is then checked."""

    waits_for = "the step's delivery"

    def run_step(self, item: ItemStep) -> Outcome:
        return do_work(item)


class PublishOperator(SopStepOperator):
    """An upload step (``humas.steps.upload``): exactly what was approved, once per channel, then the receipt."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 3)
        kwargs.setdefault("retry_delay", timedelta(seconds=30))
        super().__init__(**kwargs)

    def run_step(self, item: ItemStep) -> Outcome:
        return publish_item(item, lambda channel: PlatformHook(channel).get_client())
