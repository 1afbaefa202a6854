"""An item's state: one current record plus an append-only event per change, both in the bucket."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

from humas import layout, progress

if TYPE_CHECKING:
    from humas.store import Store

# The states an item moves through; staff see the Bahasa Indonesia label.
STATE_LABELS: dict[str, str] = {
    "received": "Diterima, menunggu diproses",
    "refused": "Ditolak: brief tidak valid",
    "in_step": "Sedang dikerjakan",
    "awaiting_delivery": "Menunggu hasil kerja",
    "delivered": "Hasil kerja diserahkan",
    "delivery_refused": "Hasil kerja ditolak: pengirimnya tidak berhak atau tidak terverifikasi",
    "assets_failed": "Desain perlu diperbaiki",
    "assets_passed": "Desain lolos pemeriksaan",
    "awaiting_approval": "Menunggu persetujuan",
    "approval_flag_invalid": "Tanda persetujuan tidak valid",
    "approved": "Disetujui",
    "gate_not_required": "Langkah persetujuan tidak berlaku untuk item ini",
    "revision_requested": "Dikembalikan untuk revisi",
    "changed_after_approval": "Berubah setelah disetujui: ditinjau ulang",
    "declined": "Tidak disetujui",
    "publishing": "Sedang diunggah",
    "waiting_quota": "Menunggu kuota platform",
    "platform_processing": "Video sedang diproses platform",
    "published": "Sudah diunggah",
    "publish_failed": "Gagal diunggah",
    "media_mismatch": "Media tayang berbeda dari yang disetujui",
    "media_unverified": "Media tayang belum dapat diperiksa",
    "sla_missed": "Melewati waktu baku SOP",
    "notice_skipped": "Pemberitahuan tidak terkirim: tanpa kontak",
}
# The states in which an item waits at a gate for a decision (what the approval service lists).
WAITING_STATES = ("awaiting_approval", "approval_flag_invalid")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def record_state(store: "Store", item_id: str, state: str, *, message: str = "", step: str | None = None,
                 details: dict[str, Any] | None = None, at: datetime | None = None,
                 submitter: str | None = None) -> dict[str, Any]:
    """Append an event for ``state`` and make it the item's current status; return the status record.

    ``submitter``: the person vouched for as the item's submitter (``humas.submission``), kept on the status
    from then on; the view they may read (``humas.progress``) is brought up to date with every change.
    """
    key, event = _event(store, item_id, state, message=message, step=step, details=details, at=at)
    previous = store.get_json(layout.status_key(item_id)) or {}
    # When the item reached the step it is at (the board's "waiting since"): kept while the step stays the same.
    since = previous.get("step_since") if previous.get("step") == step and previous.get("step_since") else event["at"]
    status = {**previous, **event, "step_since": since,
              "links": {**previous.get("links", {}), **(details or {}).get("links", {})}}
    if submitter or previous.get("submitter"):
        status["submitter"] = submitter or previous["submitter"]
    store.put_json(layout.status_key(item_id), status)
    progress.keep(store, item_id, status, key, event)
    return status


def note_event(store: "Store", item_id: str, state: str, *, message: str = "", step: str | None = None,
               details: dict[str, Any] | None = None, at: datetime | None = None,
               status: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Record an event without changing the current state (e.g. an SLA miss while a step is open). ``status``:
    the item's status as the caller read it (only its submitter is used, for their view); None: read here."""
    key, event = _event(store, item_id, state, message=message, step=step, details=details, at=at)
    progress.keep(store, item_id, read_status(store, item_id) if status is None else status, key, event,
                  changed=False)
    return event


def _event(store: "Store", item_id: str, state: str, *, message: str, step: str | None,
           details: dict[str, Any] | None, at: datetime | None) -> tuple[str, dict[str, Any]]:
    """Write one event of the item; its key and record."""
    if state not in STATE_LABELS:
        raise ValueError(f"unknown item state {state!r}")
    at = at or utcnow()
    event = {"item_id": item_id, "state": state, "label": STATE_LABELS[state], "step": step,
             "message": message, "details": details or {}, "at": at.isoformat()}
    key = layout.event_key(item_id, state, at)
    store.put_json(key, event)
    return key, event


def read_status(store: "Store", item_id: str, viewer: str | None = None) -> dict[str, Any] | None:
    """The item's status; ``viewer``: as that person's view holds it (what staff may read)."""
    key = layout.status_key(item_id)
    return store.get_json(layout.progress_key(viewer, item_id, key) if viewer else key)


def read_events(store: "Store", item_id: str, viewer: str | None = None) -> list[dict[str, Any]]:
    """Every recorded event of the item, oldest first; ``viewer``: as that person's view holds them."""
    prefix = layout.events_prefix(item_id)
    prefix = layout.progress_key(viewer, item_id, prefix) if viewer else prefix
    return [store.get_json(obj.key) for obj in store.list(prefix)]
