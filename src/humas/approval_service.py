"""The approval service's core: what an approver is shown, and turning their decision into a signed flag.

The Airflow plugin (the approval page and its JSON API for ``humas approve``) is a thin adapter over
this module; it passes in who the approver is, as Airflow authenticated them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from humas import layout
from humas.approval import ApprovalFlag, decider_problems, decisions_for, make_flag
from humas.board import ItemRecord, agencies_of, read_record, roster_lookup
from humas.brief import Brief, parse_brief, read_brief_bytes
from humas.exceptions import ApprovalRefused, InvalidInputError
from humas.platforms import post_text
from humas.profiles import channel_ids
from humas.review import Review, review_of, sha256
from humas.roster import Roster, load_roster
from humas.sop import Sop, Step, available_sops
from humas.status import WAITING_STATES, read_status

if TYPE_CHECKING:
    from humas.store import Store


@dataclass(frozen=True)
class PendingReview:
    """One item waiting at one gate, as its approver sees it."""

    item_id: str
    sop: Sop
    step: Step
    roster: Roster
    brief: Brief
    review: Review
    preview: bytes | None

    @property
    def decisions(self) -> tuple[str, ...]:
        return decisions_for(self.sop, self.step)

    def refusal(self, person_id: str) -> str:
        """Why ``person_id`` may not decide this gate, in Bahasa Indonesia; empty when they may."""
        problems = decider_problems(person_id, self.roster, self.sop, self.step, self.brief.submitter)
        return "; ".join(f"{p.message} ({p.fix})" for p in problems)


def pending_review(store: "Store", item_id: str) -> PendingReview:
    """What the gate the item waits at asks its approver to review; ``ApprovalRefused`` when none waits."""
    layout.check_item_id(item_id)
    status = read_status(store, item_id) or {}
    if status.get("state") not in WAITING_STATES:
        raise ApprovalRefused(f"item {item_id} tidak sedang menunggu keputusan (status: {status.get('state', '-')})")
    announced = store.get_json(layout.review_key(item_id)) or {}
    if announced.get("gate") != status.get("step"):
        raise ApprovalRefused(f"item {item_id}: langkah yang ditinjau belum siap; coba lagi sebentar lagi")
    brief_bytes = read_brief_bytes(store, item_id) or b""
    sops = available_sops()
    try:
        brief = parse_brief(item_id, brief_bytes, sops, channel_ids())
        sop = sops[brief.sop]
        roster = load_roster(sop)
    except InvalidInputError as exc:
        raise ApprovalRefused(f"item {item_id}: {exc}") from exc
    step = next((s for s in sop.gates if s.task_id == announced["gate"]), None)
    if step is None:
        raise ApprovalRefused(f"item {item_id}: {announced['gate']} bukan langkah persetujuan SOP {sop.id}")
    design = announced.get("design")
    preview = store.get_bytes(layout.preview_key(item_id)) if design else None
    if design and sha256(preview or b"") != design.get("preview_sha256"):
        raise ApprovalRefused(f"item {item_id}: pratinjau di bucket tidak sama dengan hasil pemeriksaan desain; "
                              "laporkan ke admin (berkas pipeline/ diubah dari luar)")
    return PendingReview(item_id, sop, step, roster, brief, review_of(item_id, brief_bytes, design), preview)


def decide(store: "Store", pending: PendingReview, person_id: str, decision: str, review_digest: str,
           key: bytes, now: datetime, comment: str = "") -> ApprovalFlag:
    """Sign ``person_id``'s decision on what they were shown and drop it where the gate looks."""
    if review_digest != pending.review.digest:
        raise ApprovalRefused(f"item {pending.item_id}: konten berubah sejak halaman ini dibuka; muat ulang dan "
                              "tinjau versi terbaru")
    refusal = pending.refusal(person_id)
    if refusal:
        raise ApprovalRefused(f"item {pending.item_id}: {refusal}")
    if decision not in pending.decisions:
        raise ApprovalRefused(f"item {pending.item_id}: {decision!r} bukan pilihan langkah ini "
                              f"({', '.join(pending.decisions)})")
    if decision != "approve" and not comment.strip():
        raise ApprovalRefused(f"item {pending.item_id}: tulis alasannya di catatan agar tim tahu apa yang diubah")
    flag = make_flag(pending.item_id, pending.step, decision, person_id, review_digest, now.isoformat(), key,
                     comment.strip())
    store.put_bytes(layout.approval_key(pending.item_id, pending.step.task_id), flag.to_json(), "application/json")
    return flag


def pending_for(store: "Store", item_id: str, person_id: str) -> PendingReview:
    """``pending_review`` of an item of one of ``person_id``'s own agencies; anyone else learns nothing of it."""
    layout.check_item_id(item_id)
    if not in_scope(store, item_id, person_id):
        raise ApprovalRefused(f"item {item_id} tidak ada di antrean instansi Anda; buka daftar Persetujuan Humas")
    return pending_review(store, item_id)


def in_scope(store: "Store", item_id: str, person_id: str, record: "ItemRecord | None" = None) -> bool:
    """Whether the item belongs to an agency whose roster lists ``person_id`` (``record``: the item's as
    known already, e.g. from the item index; else it is read)."""
    record = record or read_record(store, item_id)
    sops = available_sops()
    return bool(record and record.sop_id in agencies_of(person_id, sops, roster_lookup(sops)))


def posts_of(pending: PendingReview) -> dict[str, str]:
    """The text each channel will post (with the item's Ref), as the approver is shown it."""
    brief = pending.brief
    return {c: post_text(brief.caption, pending.item_id, c, (brief.placements or {}).get(c)) for c in brief.channels}
