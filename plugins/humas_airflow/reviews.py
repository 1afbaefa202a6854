"""What a run has under review: the brief's bytes now, and the design manifest its design step returned."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from humas.brief import read_brief_bytes
from humas.review import Review, review_of

if TYPE_CHECKING:
    from airflow.sdk import Context

    from humas.sop import Sop, Step
    from humas.store import Store


def design_manifest(context: "Context", sop: "Sop", step: "Step") -> dict[str, Any] | None:
    """The manifest the design step before ``step`` returned in this run (from Airflow, not the bucket)."""
    design = sop.design_before(step)
    return context["ti"].xcom_pull(task_ids=design.task_id) if design else None


def current_review(context: "Context", store: "Store", item_id: str, sop: "Sop",
                   step: "Step") -> tuple[Review, bytes, dict[str, Any] | None]:
    """The review of the item as it is now, the brief bytes it covers and the design manifest."""
    brief_bytes = read_brief_bytes(store, item_id) or b""
    design = design_manifest(context, sop, step)
    return review_of(item_id, brief_bytes, design), brief_bytes, design


def accepted_submitter(context: "Context", sop: "Sop", current: str) -> str:
    """Who submitted the item, as the run's intake step accepted it (an edit of the brief cannot change it)."""
    first = sop.steps[0]
    if first.stage not in ("idea_intake", "concept"):
        return current
    return (context["ti"].xcom_pull(task_ids=first.task_id) or {}).get("submitter") or current
