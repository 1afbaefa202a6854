"""Approval flags: what an approver writes to ``approvals/<item>/<gate>.json`` and how it is judged."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from humas.exceptions import ApprovalFlagError, Problem

if TYPE_CHECKING:
    from humas.brief import Brief
    from humas.sop import Sop, Step

DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class ApprovalFlag:
    item_id: str
    gate: str           # the gate step's task id, e.g. step_3_decision
    decision: str       # approve | reject
    by: str             # the approver's name
    role: str           # the approver's role id in the SOP
    comment: str = ""
    brief_digest: str = ""  # the brief the approver reviewed; empty means "the current one"
    at: str = ""

    @property
    def approved(self) -> bool:
        return self.decision == "approve"

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode()


def make_flag(item_id: str, step: "Step", decision: str, by: str, *, comment: str = "",
              brief_digest: str = "", at: str = "") -> ApprovalFlag:
    """A flag for ``step`` in the role the SOP names for it (what ``humas approve`` writes)."""
    return ApprovalFlag(item_id, step.task_id, decision, by, step.actor, comment, brief_digest, at)


def parse_flag(item_id: str, step: "Step", sop: "Sop", brief: "Brief", data: bytes) -> ApprovalFlag:
    """Validate a flag against the gate it is for; raise ``ApprovalFlagError`` naming every problem."""
    source = f"item {item_id} approval flag for {step.task_id}"
    raw = _load(source, data)
    problems: list[Problem] = []
    decision = raw.get("decision")
    if decision not in DECISIONS:
        problems.append(Problem("decision", f"{decision!r} is not a decision", "write approve or reject"))
    by = str(raw.get("by") or "").strip()
    if not by:
        problems.append(Problem("by", "is missing", "write the approver's name"))
    elif by == brief.submitter:
        problems.append(Problem("by", f"{by} submitted this item and cannot approve it",
                                f"ask the {sop.role(step.actor).name} to decide"))
    role = str(raw.get("role") or "")
    if role != step.actor:
        problems.append(Problem("role", f"{role!r} is not the role this step needs",
                                f"only {sop.role(step.actor).name} ({step.actor}) decides {step.task_id}"))
    for name, expected in (("item_id", item_id), ("gate", step.task_id)):
        if raw.get(name, expected) != expected:
            problems.append(Problem(name, f"{raw.get(name)!r} is not this flag's {name} ({expected})",
                                    f"write the flag for {expected} with `humas approve`"))
    digest = str(raw.get("brief_digest") or "")
    if digest and digest != brief.digest:
        problems.append(Problem("brief_digest", "the brief changed after it was reviewed",
                                "review the current brief and write the flag again"))
    if problems:
        raise ApprovalFlagError(source, problems)
    return ApprovalFlag(item_id, step.task_id, str(decision), by, role, str(raw.get("comment") or ""),
                        digest, str(raw.get("at") or ""))


def _load(source: str, data: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApprovalFlagError(source, [Problem("(file)", f"is not valid JSON ({exc})", "write the flag with `humas approve`")]) from exc
    if not isinstance(raw, dict):
        raise ApprovalFlagError(source, [Problem("(file)", "must be a JSON object", "write the flag with `humas approve`")])
    return raw
