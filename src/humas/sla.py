"""SLA arithmetic from a SOP's standard times ("mutu baku waktu"), and recording a missed one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from humas.status import note_event, read_status
from humas.timetext import WIB, wib

if TYPE_CHECKING:
    from humas.sop import Sop, Step
    from humas.store import Store


@dataclass(frozen=True)
class StepBudget:
    step: "Step"
    budget: timedelta | None      # the step's own standard time; None for "menyesuaikan" / event-relative
    due_after_start: timedelta | None  # cumulative: when the run is late if this step is still open


def budgets(sop: "Sop") -> list[StepBudget]:
    """Each step's own budget and its cumulative run deadline, in SOP order.

    Flexible steps ("menyesuaikan") and event-relative steps add nothing to the cumulative clock, and
    the steps after a flexible one still get deadlines for their own standard times.
    """
    out: list[StepBudget] = []
    elapsed = timedelta(0)
    for step in sop.steps:
        own = timedelta(minutes=step.time.minutes) if step.time.kind == "duration" and step.time.minutes else None
        if own is not None:
            elapsed += own
        out.append(StepBudget(step, own, elapsed if own is not None else None))
    return out


def event_due(step: "Step", event_date: date | None) -> datetime | None:
    """For a step due before the event ("1 hari sebelum pelaksanaan"): the moment it is due (WIB midnight)."""
    if step.time.kind != "before_event" or event_date is None or step.time.before_event_minutes is None:
        return None
    start_of_event = datetime.combine(event_date, time(0, 0), tzinfo=WIB)
    return start_of_event - timedelta(minutes=step.time.before_event_minutes)


def overrun(step: "Step", started: datetime, ended: datetime, event_date: date | None = None) -> timedelta | None:
    """How late a finished step was against its own standard time; None when it was on time or has none."""
    if step.time.kind == "duration" and step.time.minutes:
        late = (ended - started) - timedelta(minutes=step.time.minutes)
        return late if late > timedelta(0) else None
    due = event_due(step, event_date)
    if due is not None and ended > due:
        return ended - due
    return None


# Once an item is in one of these states, a passed deadline is no longer news.
FINISHED_STATES = frozenset({"published", "declined", "refused"})


def open_step(store: "Store", sop: "Sop", item_id: str, step_number: int) -> "Step | None":
    """The step the item is at now, if it has not finished step ``step_number`` (nor the item); else None."""
    status = read_status(store, item_id) or {}
    current = next((s for s in sop.steps if s.task_id == status.get("step")), sop.steps[0])
    if status.get("state") in FINISHED_STATES or current.number > step_number:
        return None
    return current


def record_late_step(store: "Store", sop: "Sop", item_id: str, step_number: int, deadline: datetime) -> str | None:
    """A run deadline passed (the SOP's clock up to step ``step_number``): if the item has not finished that
    step, record a miss on the step it is at now (it holds up every later step) naming its role. Returns the
    message, or None when the item is past that step or finished."""
    current = open_step(store, sop, item_id, step_number)
    if current is None:
        return None
    due = sop.steps[step_number - 1]
    message = (f"Langkah {current.number} ({current.activity}) belum selesai; batas waktu SOP sampai langkah "
               f"{due.number} ({due.time.describe()} untuk langkah itu) lewat pada {wib(deadline)}. "
               f"Penanggung jawab: {sop.role(current.actor).name}")
    note_event(store, item_id, "sla_missed", step=current.task_id, message=message,
               details={"deadline": deadline.isoformat(), "deadline_step": due.task_id, "role": current.actor})
    return message
