"""Gate steps ("idea_consideration", "correction", "decision"): a named role decides, through a signed flag.

The gate tells the approval service what it reviews (``review.json``: the brief's bytes and the design's
renditions, pinned by one digest), then waits, holding no worker slot, for the flag the service writes at
``approvals/<item>/<gate>.json``. A flag is accepted only if it is genuine and current (``humas.approval``):
``approve`` lets the run go on; ``revise`` sends it back to the gate's ``revise_to`` step, by default the
design before it (every gate from there decides again); ``decline`` ends the item. A forged, stale or
misplaced flag is reported with the reason, and the wait goes on. A gate with ``when_label`` applies only
to briefs with that label. A brief or file written since by someone the bucket does not vouch for as its
submitter or the person of the step that delivered it is not put before the approver: the run goes back to the
work step before the gate, which refuses it with the reason and waits for its person.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from humas import layout
from humas.approval import MAX_FLAG_BYTES, ApprovalFlag, parse_flag, signing_key
from humas.exceptions import InvalidInputError
from humas.notify import notify_approval_request, notify_decision, remind_or_escalate
from humas.reports import write_item_report
from humas.review import Review, review_of
from humas.roster import load_roster
from humas.status import WAITING_STATES, read_status
from humas.steps.base import Declined, SendBack, WaitForChange
from humas.steps.intake import accepted_submitter
from humas.steps.work import claims_change, not_entitled

if TYPE_CHECKING:
    from humas.sop import Step
    from humas.steps.base import ItemStep

log = logging.getLogger(__name__)
# How long a gate waits for its decision; lateness is reported long before by the SLA.
DECISION_WAIT = timedelta(days=30)
# Archived decisions of this gate looked at when a try finds no flag (one taken just before a crash).
_RECENT_DECISIONS = 5


def current_review(item: "ItemStep", gate: "Step | None" = None) -> Review:
    """The review of the item as it is now, as gate ``gate`` (default: this step) sees it: the brief's bytes and
    the manifest of the design step before that gate in this run."""
    return review_of(item.item_id, item.brief_bytes, item.design_manifest(gate))


def decide_gate(item: "ItemStep") -> dict[str, Any] | WaitForChange | SendBack | Declined:
    """Take the gate's decision if one is there; else announce the review and wait for it."""
    label = item.step.when_label
    if label and label not in item.brief.labels:
        item.note("gate_not_required", f"Langkah {item.step.number} hanya untuk konten berlabel {label} "
                                       f"({(item.sop.labels or {}).get(label, '')}); brief ini tidak berlabel itu")
        return {"decision": "not_required"}
    strangers = not_entitled(item)
    if strangers:
        return _not_for_review(item, strangers)
    review = current_review(item)
    _announce(item, review)
    key = layout.approval_key(item.item_id, item.step.task_id)
    info = item.store.head(key)
    if info is None:
        # A try interrupted after taking the decision (worker lost, state report refused) finds it here.
        taken = _decision_taken(item, review)
        if taken:
            return _act(item, taken, review)
        # Once per review (a new design after a revise is a new round): created even after a crash here.
        notify_approval_request(item, accepted_submitter(item), review.digest[:16])
        return _wait(item, key, {})
    data = item.store.get_bytes(key, MAX_FLAG_BYTES + 1) or b""
    try:
        flag = _parse(item, data, review)
    except InvalidInputError as exc:
        log.warning("%s", exc)
        item.record("approval_flag_invalid", str(exc), problems=[p.__dict__ for p in exc.problems])
        return _wait(item, key, {key: info.etag})
    # Consumed: the signed copy is kept under decisions/, so a later visit to this gate (after a revise or an
    # edit) waits for a new decision instead of finding this one.
    at = datetime.now(timezone.utc)
    item.store.put_bytes(layout.decision_key(item.item_id, item.step.task_id, flag.decision, at), data,
                         "application/json")
    item.store.delete(key)
    return _act(item, flag, review)


def _wait(item: "ItemStep", key: str, seen: dict[str, str]) -> WaitForChange:
    """Wait for the flag at ``key``; the wait reminds the gate's role, then tells its miss, when due (80% and
    100% of its own standard time from when it started waiting; the step is not woken for them)."""
    since = item.step_since()
    return WaitForChange(key, seen, DECISION_WAIT, wake_at=remind_or_escalate(item, since), since=since)


def _parse(item: "ItemStep", data: bytes, review: Review) -> ApprovalFlag:
    return parse_flag(data, signing_key(), item_id=item.item_id, step=item.step, sop=item.sop,
                      roster=load_roster(item.sop), submitter=accepted_submitter(item), review_digest=review.digest)


def _decision_taken(item: "ItemStep", review: Review) -> ApprovalFlag | None:
    """The newest archived decision of this gate on exactly this review, if one was taken already."""
    mine = [o.key for o in item.store.list(layout.decisions_prefix(item.item_id))
            if layout.gate_of_decision_key(item.item_id, o.key) == item.step.task_id]
    for key in reversed(mine[-_RECENT_DECISIONS:]):
        try:
            return _parse(item, item.store.get_bytes(key, MAX_FLAG_BYTES + 1) or b"", review)
        except InvalidInputError:
            continue  # an older review's decision
    return None


def _act(item: "ItemStep", flag: ApprovalFlag, review: Review) -> dict[str, Any] | SendBack | Declined:
    item.check_time()
    person = load_roster(item.sop).person(flag.person)
    who = f"{person.name if person else flag.person} ({item.sop.role(flag.role).name})"
    notify_decision(item, flag.decision, who, flag.comment, accepted_submitter(item), review.digest[:16])
    if flag.decision == "approve":
        item.record("approved", f"Disetujui oleh {who} {flag.comment}".strip())
        return {"decision": "approve", "person": flag.person, "review_digest": review.digest}
    if flag.decision == "revise":
        return _send_back(item, who, flag.comment)
    message = f"Ditolak oleh {who}: {flag.comment}"
    item.record("declined", message)
    write_item_report(item.store, item.item_id, item.sop)
    return Declined(message)


def _announce(item: "ItemStep", review: Review) -> None:
    """Tell the approval service what this gate reviews; once per review (a brief edit is a new review)."""
    status = read_status(item.store, item.item_id) or {}
    announced = item.store.get_json(layout.review_key(item.item_id)) or {}
    if (announced.get("gate"), announced.get("digest")) == (item.step.task_id, review.digest) \
            and status.get("step") == item.step.task_id and status.get("state") in WAITING_STATES:
        return
    item.store.put_json(layout.review_key(item.item_id), {"gate": item.step.task_id, "digest": review.digest,
                                                          "design": item.design_manifest(),
                                                          "review": review.to_dict()})
    item.enter("awaiting_approval",
               f"Menunggu keputusan {item.role_name}: {item.step.activity} (halaman Persetujuan Humas "
               f"/humas/approvals/{item.item_id}, atau humas approve {item.item_id})")


def _not_for_review(item: "ItemStep", problems: list[str]) -> SendBack | WaitForChange:
    """What someone not entitled wrote is not reviewed: back to the work step before the gate (which refuses it
    and waits for its person), or, with none before it, a wait here for a new claim."""
    work = [s for s in item.sop.steps[: item.step.number - 1] if s.kind == "work"]
    message = f"Langkah {item.step.number}: isi folder item tidak diajukan untuk diputuskan: {'; '.join(problems)}"
    item.record("delivery_refused", message + (f"; dikembalikan ke langkah {work[-1].number}" if work else ""),
                step=work[-1] if work else None, problems=problems)
    if work:
        return SendBack(work[-1], message)
    return claims_change(item, DECISION_WAIT)  # as a work step waits after a refusal


def _send_back(item: "ItemStep", who: str, comment: str) -> SendBack:
    """Revise: record what must change, then send the run back to the SOP's revise step (the design)."""
    target = item.sop.revise_target(item.step)
    item.store.put_json(layout.revision_key(item.item_id),
                        {"gate": item.step.task_id, "by": who, "comment": comment, "assets": item.files(),
                         "at": datetime.now(timezone.utc)})
    message = f"Dikembalikan ke {item.sop.role(target.actor).name} oleh {who}: {comment}"
    item.record("revision_requested", message, step=target)
    return SendBack(target, message)
