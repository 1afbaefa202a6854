"""The human-approval sensor: waits for an approver's flag in the bucket without holding a worker slot."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from humas import layout
from humas.approval import parse_flag
from humas.exceptions import ApprovalFlagError
from humas.status import read_status, record_state

from humas_airflow.hooks import BUCKET_CONN_ID
from humas_airflow.steps import SopStepMixin, item_id_of
from humas_airflow.triggers import BucketChangeTrigger, NewItemsTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from humas.store import Store

log = logging.getLogger(__name__)


class ApprovalFlagSensor(SopStepMixin, BaseSensorOperator):
    """A decision gate of the SOP: done when the gate's role writes a valid ``approve`` flag.

    A ``reject`` flag ends the item here (the rest of the run is skipped, the status says who declined and
    why). A flag that breaks the rules (wrong role, own item, unreadable) is reported and the wait goes on.
    """

    def __init__(self, *, sop_id: str, step_number: int, poll_interval: float = 5.0, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", timedelta(days=30))
        super().__init__(**kwargs)
        self.sop_id, self.step_number, self.poll_interval = sop_id, step_number, poll_interval

    def execute(self, context: "Context") -> Any:
        item_id, store = item_id_of(context), self.store()
        status = read_status(store, item_id) or {}
        if status.get("state") != "awaiting_approval" or status.get("step") != self.step.task_id:
            role = self.sop.role(self.step.actor).name
            self.enter_step(store, item_id, "awaiting_approval",
                            f"Menunggu keputusan {role}: {self.step.activity} "
                            f"(humas approve {item_id} / humas reject {item_id})")
        return self._evaluate(context, store, item_id)

    def execute_complete(self, context: "Context", event: dict[str, Any]) -> Any:
        if event.get("status") != "changed":
            raise AirflowException(f"waiting for the approval flag failed: {event.get('message')}")
        return self._evaluate(context, self.store(), item_id_of(context))

    def poke(self, context: "Context") -> bool:  # required by the base class; the work is in execute
        return False

    def _evaluate(self, context: "Context", store: "Store", item_id: str) -> Any:
        key = layout.approval_key(item_id, self.step.task_id)
        info = store.head(key)
        if info is None:
            return self._wait(key, {})
        brief = self.load_brief(store, item_id)
        try:
            flag = parse_flag(item_id, self.step, self.sop, brief, store.get_bytes(key) or b"")
        except ApprovalFlagError as exc:
            log.warning("%s", exc)
            record_state(store, item_id, "approval_flag_invalid", step=self.step.task_id, message=str(exc),
                         details={"problems": [p.__dict__ for p in exc.problems]})
            return self._wait(key, {key: info.etag})
        self.check_step_time(context, store, item_id, brief)
        if flag.approved:
            record_state(store, item_id, "approved", step=self.step.task_id,
                         message=f"Disetujui oleh {flag.by} ({self.sop.role(flag.role).name}) {flag.comment}".strip())
            return {"decision": flag.decision, "by": flag.by, "role": flag.role}
        record_state(store, item_id, "declined", step=self.step.task_id,
                     message=f"Tidak disetujui oleh {flag.by}: {flag.comment or '(tanpa catatan)'}")
        raise AirflowSkipException(f"item {item_id} declined at {self.step.task_id} by {flag.by}")

    def _wait(self, key: str, seen: dict[str, str]) -> None:
        self.defer(trigger=BucketChangeTrigger(key, seen, self.aws_conn_id, self.poll_interval),
                   method_name="execute_complete", timeout=timedelta(seconds=self.timeout))


class NewItemsSensor(BaseSensorOperator):
    """The dispatcher's wait: done when the inbox holds items to start or refuse (returns their ids)."""

    def __init__(self, *, aws_conn_id: str = BUCKET_CONN_ID, poll_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id, self.poll_interval = aws_conn_id, poll_interval

    def execute(self, context: "Context") -> list[str]:
        self.defer(trigger=NewItemsTrigger(self.aws_conn_id, self.poll_interval), method_name="execute_complete")

    def execute_complete(self, context: "Context", event: dict[str, Any]) -> list[str]:
        if event.get("status") == "idle":
            log.info("no new items; the next dispatcher run keeps watching")
            return []
        if event.get("status") != "pending":
            raise AirflowException(f"watching the inbox failed: {event.get('message')}")
        log.info("items to dispatch: %s", ", ".join(event["items"]))
        return event["items"]

    def poke(self, context: "Context") -> bool:  # required by the base class; the work is in execute
        return False
