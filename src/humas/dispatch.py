"""The dispatcher's core: which inbox items need a run, and what to do with each.

One run per item comes from the deterministic run id (``layout.run_id_for``): asking twice is harmless,
so the records below only keep the dispatcher from asking again and again. An item is "pending" until
its run has started; a request that got no started run within ``RETRY_AFTER`` is asked again, so a
crash between asking and starting leaves no silent gap.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Collection, Mapping

from humas import layout
from humas.brief import Brief, parse_brief
from humas.exceptions import BriefError, LayoutError, Problem
from humas.status import record_state, utcnow

if TYPE_CHECKING:
    from humas.store import Store

RETRY_AFTER = timedelta(minutes=2)
MISSING_ASSET_GRACE = timedelta(minutes=15)


@dataclass(frozen=True)
class Decision:
    item_id: str
    action: str                  # "start" | "reject" | "wait"
    reason: str = ""
    brief: Brief | None = None
    problems: tuple[Problem, ...] = ()
    brief_etag: str = ""
    missing_assets: tuple[str, ...] = ()

    def run_request(self, dag_id: str) -> dict[str, Any]:
        """Keyword arguments for one TriggerDagRunOperator (mapped) instance."""
        return {"trigger_dag_id": dag_id, "trigger_run_id": layout.run_id_for(self.item_id),
                "conf": {"item_id": self.item_id}}


def _listed_items(store: "Store", stage: str) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for obj in store.list(layout.dispatch_prefix(stage)):
        item_id = layout.item_id_from_dispatch_key(stage, obj.key)
        if item_id:
            found[item_id] = obj.last_modified
    return found


def pending_items(store: "Store", now: datetime | None = None) -> list[str]:
    """Inbox items with no started run and no fresh request, oldest-named first."""
    now = now or utcnow()
    inbox = [i for i in map(layout.item_id_from_inbox_prefix, store.list_folders(layout.INBOX)) if i]
    started = _listed_items(store, "started")
    requested = _listed_items(store, "requested")
    rejected = _listed_items(store, "rejected")
    pending = []
    for item_id in inbox:
        if item_id in started or (item_id in requested and now - requested[item_id] < RETRY_AFTER):
            continue
        if item_id in rejected and not _brief_changed_since_rejection(store, item_id):
            continue
        pending.append(item_id)
    return pending


def _brief_changed_since_rejection(store: "Store", item_id: str) -> bool:
    """A refused item is looked at again when its brief changes or a file it lacked has arrived."""
    record = store.get_json(layout.dispatch_key("rejected", item_id)) or {}
    brief = store.head(layout.brief_key(item_id))
    if brief is not None and brief.etag != record.get("brief_etag"):
        return True
    return any(store.exists(layout.asset_key(item_id, name)) for name in record.get("missing_assets", []))


def assess_item(store: "Store", item_id: str, sops: Mapping[str, Any], channels: Collection[str],
                now: datetime | None = None) -> Decision:
    """Decide whether an item's run can start, must be refused, or must wait for files."""
    now = now or utcnow()
    info = store.head(layout.brief_key(item_id))
    if info is None:
        return Decision(item_id, "wait", "no brief.yaml yet")
    try:
        brief = parse_brief(item_id, store.get_bytes(info.key) or b"", sops, channels)
    except (BriefError, LayoutError) as exc:
        problems = tuple(getattr(exc, "problems", [Problem("item id", str(exc), "rename the folder")]))
        return Decision(item_id, "reject", str(exc), problems=problems, brief_etag=info.etag)
    present = {layout.asset_name_from_key(item_id, o.key) for o in store.list(layout.item_prefix(item_id))}
    missing = [name for name in brief.assets if name not in present]
    if not missing:
        return Decision(item_id, "start", brief=brief, brief_etag=info.etag)
    if now - info.last_modified < MISSING_ASSET_GRACE:
        return Decision(item_id, "wait", f"waiting for {', '.join(missing)} to finish uploading")
    problem = Problem("assets", f"file(s) {', '.join(missing)} are listed but not in {layout.item_prefix(item_id)}",
                      "upload the files beside brief.yaml, or remove them from assets")
    return Decision(item_id, "reject", f"item {item_id}: {problem}", problems=(problem,), brief_etag=info.etag,
                    missing_assets=tuple(missing))


def record_rejection(store: "Store", decision: Decision) -> None:
    """Tell staff why the item was refused (status + rejection.json) and stop re-reading this brief."""
    problems = [{"field": p.field, "message": p.message, "fix": p.fix} for p in decision.problems]
    record = {"item_id": decision.item_id, "brief_etag": decision.brief_etag, "problems": problems,
              "missing_assets": list(decision.missing_assets), "message": decision.reason,
              "at": utcnow().isoformat()}
    store.put_json(layout.rejection_key(decision.item_id), record)
    store.put_json(layout.dispatch_key("rejected", decision.item_id), record)
    record_state(store, decision.item_id, "rejected", message=decision.reason,
                 details={"problems": problems, "links": {"rejection": layout.rejection_key(decision.item_id)}})


def record_requested(store: "Store", decision: Decision, dag_id: str) -> None:
    store.put_json(layout.dispatch_key("requested", decision.item_id),
                   {"item_id": decision.item_id, "dag_id": dag_id, "run_id": layout.run_id_for(decision.item_id),
                    "brief_digest": decision.brief.digest if decision.brief else "", "at": utcnow().isoformat()})


def record_started(store: "Store", item_id: str, dag_id: str, run_id: str) -> bool:
    """Mark the item's run as started; False if a run had already marked it (nothing is overwritten)."""
    return store.put_json_if_absent(layout.dispatch_key("started", item_id),
                                    {"item_id": item_id, "dag_id": dag_id, "run_id": run_id, "at": utcnow().isoformat()})


def actionable_items(store: "Store", sops: Mapping[str, Any], channels: Collection[str],
                     now: datetime | None = None) -> list[Decision]:
    """Pending items the dispatcher can act on now (start or reject); items still uploading are left."""
    decisions = (assess_item(store, item_id, sops, channels, now) for item_id in pending_items(store, now))
    return [d for d in decisions if d.action != "wait"]


def plan_runs(store: "Store", decisions: list[Decision], dag_ids: Mapping[str, str]) -> list[dict[str, Any]]:
    """Record every decision and return the run requests to send (one per item to start)."""
    requests: list[dict[str, Any]] = []
    for decision in decisions:
        if decision.action == "reject":
            record_rejection(store, decision)
        elif decision.action == "start" and decision.brief is not None:
            dag_id = dag_ids[decision.brief.sop]
            record_requested(store, decision, dag_id)
            record_state(store, decision.item_id, "received",
                         message=f"Diterima; menjalankan SOP {decision.brief.sop} ({dag_id})")
            requests.append(decision.run_request(dag_id))
    return requests
