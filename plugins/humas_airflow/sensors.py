"""The human-approval sensor: waits for an approver's flag in the bucket without holding a worker slot."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from humas import layout
from humas.approval import MAX_FLAG_BYTES, ApprovalFlag, parse_flag, signing_key
from humas.approval_service import WAITING_STATES
from humas.exceptions import InvalidInputError
from humas.roster import load_roster
from humas.status import note_event, read_status, record_state

from humas_airflow.hooks import API_CONN_ID
from humas_airflow.reviews import accepted_submitter, current_review
from humas_airflow.steps import SopStepMixin, item_id_of
from humas_airflow.triggers import BucketChangeTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from humas.review import Review
    from humas.store import Store

log = logging.getLogger(__name__)


class ApprovalFlagSensor(SopStepMixin, BaseSensorOperator):
    """A decision gate of the SOP: waits in the triggerer for a signed decision on exactly what is under review.

    ``approve`` lets the run go on; ``revise`` sends the run back to the gate's ``revise_to`` step, by
    default the design step before it (the correction is checked again and every gate from there decides
    again); ``reject`` ends the item. A flag that is forged, stale, for another item or gate, or from someone
    the roster does not allow is reported with the reason, and the wait goes on. A gate with ``when_label``
    applies only to briefs with that label.
    """

    def __init__(self, *, sop_id: str, step_number: int, poll_interval: float = 5.0,
                 api_conn_id: str = API_CONN_ID, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", timedelta(days=30))
        super().__init__(**kwargs)
        self.sop_id, self.step_number, self.poll_interval = sop_id, step_number, poll_interval
        self.api_conn_id = api_conn_id

    def execute(self, context: "Context") -> Any:
        item_id, store = item_id_of(context), self.store()
        brief = self.load_brief(store, item_id)
        label = self.step.when_label
        if label and label not in getattr(brief, "labels", ()):
            note_event(store, item_id, "gate_not_required", step=self.step.task_id,
                       message=f"Langkah {self.step.number} hanya untuk konten berlabel {label} "
                               f"({(self.sop.labels or {}).get(label, '')}); brief ini tidak berlabel itu")
            return {"decision": "not_required"}
        return self._evaluate(context, store, item_id)

    def execute_complete(self, context: "Context", event: dict[str, Any]) -> Any:
        if event.get("status") != "changed":
            raise AirflowException(f"waiting for the approval flag failed: {event.get('message')}")
        return self._evaluate(context, self.store(), item_id_of(context))

    def poke(self, context: "Context") -> bool:  # required by the base class; the work is in execute
        return False

    def _evaluate(self, context: "Context", store: "Store", item_id: str) -> Any:
        review, _, design = current_review(context, store, item_id, self.sop, self.step)
        self._announce(store, item_id, review, design)
        key = layout.approval_key(item_id, self.step.task_id)
        info = store.head(key)
        if info is None:
            # A try interrupted after taking the decision (worker lost, state report refused) finds it here.
            taken = self._decision_taken(context, store, item_id, review)
            return self._act(context, store, item_id, taken, review) if taken else self._wait(key, {})
        data = store.get_bytes(key, MAX_FLAG_BYTES + 1) or b""
        try:
            flag = self._parse(context, store, item_id, data, review)
        except InvalidInputError as exc:
            log.warning("%s", exc)
            record_state(store, item_id, "approval_flag_invalid", step=self.step.task_id, message=str(exc),
                         details={"problems": [p.__dict__ for p in exc.problems]})
            return self._wait(key, {key: info.etag})
        # Consumed: the signed copy is kept under decisions/, so a later visit to this gate (after a revise or
        # an edit) waits for a new decision instead of finding this one.
        at = datetime.now(timezone.utc)
        store.put_bytes(layout.decision_key(item_id, self.step.task_id, flag.decision, at), data, "application/json")
        store.delete(key)
        return self._act(context, store, item_id, flag, review)

    def _parse(self, context: "Context", store: "Store", item_id: str, data: bytes, review: "Review") -> ApprovalFlag:
        submitter = accepted_submitter(context, self.sop, self.load_brief(store, item_id).submitter)
        return parse_flag(data, signing_key(), item_id=item_id, step=self.step, sop=self.sop,
                          roster=load_roster(self.sop), submitter=submitter, review_digest=review.digest)

    def _decision_taken(self, context: "Context", store: "Store", item_id: str, review: "Review") -> ApprovalFlag | None:
        """The newest archived decision of this gate on exactly this review, if one was taken already."""
        mine = [o.key for o in store.list(layout.decisions_prefix(item_id))
                if layout.gate_of_decision_key(item_id, o.key) == self.step.task_id]
        for key in reversed(mine[-5:]):
            try:
                return self._parse(context, store, item_id, store.get_bytes(key, MAX_FLAG_BYTES + 1) or b"", review)
            except InvalidInputError:
                continue  # an older review's decision
        return None

    def _act(self, context: "Context", store: "Store", item_id: str, flag: ApprovalFlag, review: "Review") -> Any:
        self.check_step_time(context, store, item_id)
        person = load_roster(self.sop).person(flag.person)
        who = f"{person.name if person else flag.person} ({self.sop.role(flag.role).name})"
        if flag.decision == "approve":
            record_state(store, item_id, "approved", step=self.step.task_id,
                         message=f"Disetujui oleh {who} {flag.comment}".strip())
            return {"decision": "approve", "person": flag.person, "review_digest": review.digest}
        if flag.decision == "revise":
            return self._send_back(context, store, item_id, who, flag.comment)
        record_state(store, item_id, "declined", step=self.step.task_id,
                     message=f"Tidak disetujui oleh {who}: {flag.comment}")
        raise AirflowSkipException(f"item {item_id} declined at {self.step.task_id} by {flag.person}")

    def _announce(self, store: "Store", item_id: str, review: "Review", design: dict[str, Any] | None) -> None:
        """Tell the approval service what this gate reviews; once per review (a brief edit is a new review)."""
        status = read_status(store, item_id) or {}
        announced = store.get_json(layout.review_key(item_id)) or {}
        if (announced.get("gate"), announced.get("digest")) == (self.step.task_id, review.digest) \
                and status.get("step") == self.step.task_id and status.get("state") in WAITING_STATES:
            return
        store.put_json(layout.review_key(item_id), {"gate": self.step.task_id, "digest": review.digest,
                                                    "design": design, "review": review.to_dict()})
        role = self.sop.role(self.step.actor).name
        self.enter_step(store, item_id, "awaiting_approval",
                        f"Menunggu keputusan {role}: {self.step.activity} (halaman Persetujuan Humas "
                        f"/humas/approvals/{item_id}, atau humas approve {item_id})")

    def _send_back(self, context: "Context", store: "Store", item_id: str, who: str, comment: str) -> None:
        """Revise: record what must change, then send the run back to the SOP's revise step (the design)."""
        design = self.sop.revise_target(self.step)
        listing = {o.key: o.etag for o in store.list(layout.item_prefix(item_id))}
        store.put_json(layout.revision_key(item_id), {"gate": self.step.task_id, "by": who, "comment": comment,
                                                      "assets": listing, "at": datetime.now(timezone.utc)})
        message = f"Dikembalikan ke {self.sop.role(design.actor).name} oleh {who}: {comment}"
        record_state(store, item_id, "revision_requested", step=design.task_id, message=message)
        self.rerun_from(context, design, message)

    def _wait(self, key: str, seen: dict[str, str]) -> None:
        self.defer(trigger=BucketChangeTrigger(key, seen, self.aws_conn_id, self.poll_interval),
                   method_name="execute_complete", timeout=timedelta(seconds=self.timeout))
