"""What every SOP step shares: the item it serves, its brief (read and validated once per task), its state
changes, and the check of its own standard time; and the outcomes a step hands its Airflow adapter."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterable

from humas import layout, sla
from humas.brief import Brief, parse_brief, read_brief_bytes
from humas.delivery import Deliverer, delivered_by
from humas.exceptions import BriefError, ItemRefused
from humas.profiles import channel_ids
from humas.reports import write_item_report
from humas.sop import available_sops
from humas.status import note_event, read_status, record_state, utcnow
from humas.submission import Claim, list_claims, read_claims
from humas.timetext import duration_words

if TYPE_CHECKING:
    from humas.outbox import Transport
    from humas.sop import Sop, Step
    from humas.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaitForChange:
    """Wait, holding no worker slot, until the objects under ``prefix`` differ from ``seen`` (key -> ETag), or
    until ``wake_at`` if given (the step then looks again, and waits on).

    ``since``: when the step started waiting for its people. Then ``wake_at`` is when their reminder or miss is
    due, and the wait itself reminds or escalates (``humas.notify.remind_or_escalate``) and waits on, without
    waking the step: hundreds of items waiting at one gate do not start hundreds of tasks to send reminders."""

    prefix: str
    seen: dict[str, str]
    timeout: timedelta
    wake_at: datetime | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class WaitUntil:
    """Wait, holding no worker slot, until ``moment``."""

    moment: datetime


@dataclass(frozen=True)
class SendBack:
    """Send the run back to ``to``: it and every later step run again."""

    to: "Step"
    message: str


@dataclass(frozen=True)
class Declined:
    """An approver declined the item: the run ends here, the later steps skipped."""

    message: str


Outcome = dict[str, Any] | WaitForChange | WaitUntil | SendBack | Declined


def _nothing_earlier(task_id: str) -> None:
    return None


@dataclass
class ItemStep:
    """One SOP step of one item's run, as one try of its task sees it.

    ``earlier(task_id)`` is what an earlier step of this run returned (kept by Airflow, not the bucket, so
    nobody who can write the bucket can change it); ``started`` is when this try began; ``transport`` sends the
    notifications the step creates (``humas.notify``).
    """

    store: "Store"
    item_id: str
    sop: "Sop"
    step: "Step"
    earlier: Callable[[str], Any] = _nothing_earlier
    started: datetime = field(default_factory=utcnow)
    transport: "Transport | None" = None  # delivers notifications (``humas.notify``); None: only recorded
    accepted: datetime | None = None  # when the item's run began (the upload asks platforms from then on)
    last_try: bool = False  # no automatic retry follows if this try fails (the task's retries are used up)
    rerun_until_sent: bool = False  # a wait's trigger: run again after a crash, it posts and sends its notices
                                    # again, so they need no pending marker (``humas.outbox``)
    title_read: str = ""  # the brief's title as the caller read it (a wait's trigger: when the wait began)

    @property
    def title(self) -> str:
        """The item's title, as people are told it: ``title_read`` if given (no read of the brief), else the
        brief's."""
        return self.title_read or self.brief.title

    @cached_property
    def status_seen(self) -> dict[str, Any]:
        """The item's status as this try first reads it, for its notes (they take only the submitter from it,
        which never changes)."""
        return read_status(self.store, self.item_id) or {}

    @cached_property
    def brief_bytes(self) -> bytes:
        """The brief as it is in the bucket now (at most the size cap): read once per task."""
        return read_brief_bytes(self.store, self.item_id) or b""

    @cached_property
    def brief(self) -> Brief:
        """The brief validated again (it may have been edited since the dispatch).

        A brief broken by an edit stops the run with the problems on the item's status (``ItemRefused``).
        """
        try:
            return parse_brief(self.item_id, self.brief_bytes, available_sops(), channel_ids())
        except BriefError as exc:
            raise self.refuse(str(exc), [p.__dict__ for p in exc.problems]) from exc

    @property
    def role_name(self) -> str:
        return self.sop.role(self.step.actor).name

    def record(self, state: str, message: str, step: "Step | None" = None, **details: Any) -> None:
        """Make ``state`` the item's current state (at this step, or ``step``), with an event."""
        record_state(self.store, self.item_id, state, step=(step or self.step).task_id, message=message,
                     details=details)

    def refuse(self, message: str, problems: list[dict[str, Any]]) -> ItemRefused:
        """Record the item refused (with an item report, as any ending has) and return the error that stops it."""
        self.record("refused", message, problems=problems)
        write_item_report(self.store, self.item_id, self.sop)
        return ItemRefused(message)

    def note(self, state: str, message: str, **details: Any) -> None:
        """Record an event at this step without changing the item's current state."""
        note_event(self.store, self.item_id, state, step=self.step.task_id, message=message, details=details,
                   status=self.status_seen)

    def enter(self, state: str = "in_step", message: str = "") -> None:
        """The item is now at this step (its words and role on the status)."""
        self.record(state, message or f"Langkah {self.step.number}: {self.step.activity}",
                    sop=self.sop.id, step_number=self.step.number, actor=self.step.actor)

    def step_since(self) -> datetime:
        """When the item reached this step (its status's ``step_since``; kept across retries and waits), else
        when this try began."""
        status = read_status(self.store, self.item_id) or {}
        if status.get("step") == self.step.task_id and status.get("step_since"):
            return datetime.fromisoformat(status["step_since"])
        return self.started

    def check_time(self, since: datetime | None = None) -> None:
        """Compare the step's duration (from ``since``, default this try's start) with its standard time as it
        ends; record and log a miss."""
        late = sla.overrun(self.step, since or self.started, utcnow(), self.brief.event_date)
        if late is None:
            return
        log.warning("SLA miss: item %s step %s late by %s", self.item_id, self.step.task_id, late)
        self.note("sla_missed", f"Langkah {self.step.number} ({self.step.activity}) melewati waktu baku "
                                f"{self.step.time.describe()} sebanyak {duration_words(late)}; "
                                f"penanggung jawab: {self.role_name}",
                  late_seconds=int(late.total_seconds()), role=self.step.actor)

    def design_manifest(self, before: "Step | None" = None) -> dict[str, Any] | None:
        """What the design step before this step (or ``before``) returned in this run: renditions and digests."""
        design = self.sop.design_before(before or self.step)
        return self.earlier(design.task_id) if design else None

    @cached_property
    def folder(self) -> dict[str, str]:
        """The item's folder in the inbox as this try first reads it: key -> ETag (one listing per try: a try
        decides on one view of the folder; a change after it wakes the next wait)."""
        return {o.key: o.etag for o in self.store.list(layout.item_prefix(self.item_id))}

    def files(self) -> dict[str, str]:
        """The item's folder in the inbox (``folder``): key -> ETag."""
        return dict(self.folder)

    @cached_property
    def claims_listed(self) -> dict[str, str]:
        """The item's claim objects as this try first lists them: key -> ETag (a wait for a new claim compares
        with this view, so a claim written while the try judged the old ones still wakes it)."""
        return list_claims(self.store, self.item_id)

    @cached_property
    def claims(self) -> list[Claim]:
        """The item's claims (submission and deliveries) as this try first reads them (``claims_listed``)."""
        return read_claims(self.store, self.item_id, self.claims_listed)

    def delivered_by(self, names: Iterable[str]) -> dict[str, Deliverer]:
        """Who delivered each of ``names`` (``humas.delivery.delivered_by``) over this try's reads."""
        return delivered_by(self.store, self.item_id, names, self.brief_bytes, self.folder, self.claims)
