"""The submitter's read-only view of an item, ``progress/<login>/<item>/``: all that staff may read of it.

The pipeline's records under ``pipeline/<item>/`` stay the one source of truth; this view is derived from them
as they are written, by the pipeline's identity only. Its keys name the submitter's login, so the bucket's
per-person policy lets that person, and no colleague, read it (README, "The bucket contract"). The submitter is
the one the dispatcher vouched for from their own claim (``humas.submission``), kept on the item's status.

Extra writes: per state change 2 PUTs (the event's copy and the view's status), per event without a state
change 1 GET (the status, for its submitter) and 1 PUT; plus one server-side copy for each record a change
links (findings.md, preview.jpg, refusal.json, receipt.json) and for the item report's HTML when it is written.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from humas import layout

if TYPE_CHECKING:
    from humas.store import Store

log = logging.getLogger(__name__)

SHARED = ("findings.md", "preview.jpg", "refusal.json", "receipt.json", "report.html")  # what the view copies


def viewer(status: Mapping[str, Any] | None) -> str | None:
    """Whose view the item has: the vouched submitter on its status; None before anyone was vouched for."""
    login = (status or {}).get("submitter")
    return login if isinstance(login, str) and layout.LOGIN_PATTERN.fullmatch(login) else None


def _shared(item_id: str, key: object) -> bool:
    return (isinstance(key, str) and key.startswith(layout.pipeline_prefix(item_id))
            and key.rpartition("/")[2] in SHARED and key.count("/") == 2)


def view_of(login: str, item_id: str, status: Mapping[str, Any]) -> dict[str, Any]:
    """The status as its submitter reads it: links point into their view (records they may not read dropped)."""
    links = {name: layout.progress_key(login, item_id, key) for name, key in (status.get("links") or {}).items()
             if _shared(item_id, key)}
    return {**status, "links": links}


def keep(store: "Store", item_id: str, status: Mapping[str, Any] | None, event_key: str, event: Mapping[str, Any],
         *, changed: bool = True) -> None:
    """Bring the submitter's view up to date after ``event`` (``changed``: it made ``status`` the item's state).

    The records the event links are copied first, then the event, the status last. A failure is logged, never
    raised: the view is derived, and it must not undo a post or a decision.
    """
    login = viewer(status)
    if login is None or status is None:
        return
    try:
        if changed:
            for key in ((event.get("details") or {}).get("links") or {}).values():
                share(store, item_id, key, login)
        store.put_json(layout.progress_key(login, item_id, event_key), event)
        if changed:
            store.put_json(layout.progress_key(login, item_id, layout.status_key(item_id)),
                           view_of(login, item_id, status))
    except Exception:  # noqa: BLE001
        log.warning("item %s: the submitter's view could not be updated", item_id, exc_info=True)


def share(store: "Store", item_id: str, key: str, login: str | None) -> None:
    """Copy the pipeline's record ``key`` into ``login``'s view, if it is one staff may read (``SHARED``)."""
    if login and _shared(item_id, key):
        store.copy(key, layout.progress_key(login, item_id, key))


def share_all(store: "Store", item_id: str, keys: Iterable[str], status: Mapping[str, Any] | None) -> None:
    """``share`` each of ``keys`` with the item's submitter; a failure is logged, never raised."""
    try:
        for key in keys:
            share(store, item_id, key, viewer(status))
    except Exception:  # noqa: BLE001
        log.warning("item %s: the submitter's view could not be updated", item_id, exc_info=True)
