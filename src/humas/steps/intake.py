"""Intake steps ("idea_intake", "assignment"): the item enters its SOP, or passes a step whose product the
pipeline does not hold (Kendal's assignment of the staff).

The dispatcher accepted the brief moments ago; it is checked again here because staff may have edited it
since, and the narration, when there is one yet, is checked against every channel's limits (the asset checks
repeat that before anyone approves). What this returns (the brief as accepted) is what the gates compare a later edit with.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from humas.publish import caption_findings
from humas.submission import verified_submitter

if TYPE_CHECKING:
    from humas.steps.base import ItemStep

log = logging.getLogger(__name__)


def take_in(item: "ItemStep") -> dict[str, Any]:
    """Enter the step, validate the brief, log the narration's findings; return the brief as accepted."""
    item.enter()
    brief = item.brief
    _check_submitter(item)
    log.info("item %s: %r for %s by %s", item.item_id, brief.title, ", ".join(brief.channels), brief.submitter)
    later = not brief.caption and item.sop.delivered_by_work("caption")  # a concept step will deliver it
    for finding in [] if later else caption_findings(brief.caption, item.item_id, list(brief.channels),
                                                     dict(brief.placements or {})):
        log.warning("caption %s [%s] %s", finding.code, finding.channel or "all", finding.message_en)
    item.check_time()
    return brief.to_dict()


def _check_submitter(item: "ItemStep") -> None:
    """The brief as it is now must be the one its submitter claimed (an edit by another hand is refused)."""
    who, problems = verified_submitter(item.store, item.item_id, item.brief.digest, item.brief.submitter)
    if problems:
        message = f"item {item.item_id}: " + "; ".join(f"{p.message} ({p.fix})" for p in problems)
        raise item.refuse(message, [p.__dict__ for p in problems])


def accepted_submitter(item: "ItemStep") -> str:
    """Who submitted the item, as the run's first step accepted it (an edit of the brief cannot change it)."""
    first = item.sop.steps[0]
    accepted = (item.earlier(first.task_id) or {}) if first.kind in ("intake", "work") else {}
    return accepted.get("submitter") or item.brief.submitter
