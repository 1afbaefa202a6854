"""SLA arithmetic from the real SOPs' standard times."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest

from humas.sla import budgets, event_due, overrun
from humas.sop import Sop
from humas.timetext import WIB

M = lambda n: timedelta(minutes=n)  # noqa: E731
START = datetime(2026, 11, 22, 8, 0, tzinfo=WIB)


def _minutes(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


# ------------------------------------------------------------------------------------------- budgets


@pytest.mark.parametrize("sop_id, own, cumulative", [
    ("singkawang", [30, 180, 15, 15], [30, 210, 225, 240]),
    # step 1 is due a day before the event, step 5 "Menyesuaikan": neither moves the run's clock
    ("kendal", [None, 30, 180, 120, None], [None, 30, 210, 330, None]),
    ("gunung_mas", [10, 10, 90, 90, 10, 10, 10], [10, 20, 110, 200, 210, 220, 230]),
    ("yogyakarta", [10, 10, 90, 90, 10, 10, 10], [10, 20, 110, 200, 210, 220, 230]),
])
def test_budgets_of_the_real_sops(sops, sop_id: str, own: list, cumulative: list) -> None:
    result = budgets(sops[sop_id])
    assert [b.step for b in result] == list(sops[sop_id].steps)
    assert [_minutes(b.budget) for b in result] == own
    assert [_minutes(b.due_after_start) for b in result] == cumulative


def test_every_real_sop_has_budgets_in_sop_order(sops) -> None:
    for sop in sops.values():
        result = budgets(sop)
        assert [b.step.number for b in result] == list(range(1, len(sop.steps) + 1))
        dues = [b.due_after_start for b in result if b.due_after_start is not None]
        assert dues == sorted(dues)


def test_steps_after_a_flexible_step_still_get_their_own_deadline(sops) -> None:
    # A SOP built from the real Kendal steps, with the flexible upload step moved into the middle.
    kendal = sops["kendal"]
    intake, concept, design, decision, upload = kendal.steps
    reordered = dataclasses.replace(kendal, steps=(concept, upload, design, decision))
    assert [_minutes(b.due_after_start) for b in budgets(reordered)] == [30, None, 210, 330]


# ------------------------------------------------------------------------------------------- overrun


@pytest.mark.parametrize("took, late", [(30, None), (29, None), (0, None), (31, 1), (95, 65)])
def test_overrun_of_a_duration_step(sops, took: int, late: int | None) -> None:
    step = sops["singkawang"].steps[0]  # 30 menit
    result = overrun(step, START, START + M(took))
    assert _minutes(result) == late


def test_overrun_counts_seconds(sops) -> None:
    step = sops["singkawang"].steps[0]
    assert overrun(step, START, START + M(30) + timedelta(seconds=1)) == timedelta(seconds=1)


def test_overrun_across_time_zones(sops) -> None:
    step = sops["singkawang"].steps[1]  # 3 jam
    started = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)  # 08:00 WIB
    assert overrun(step, started, datetime(2026, 11, 22, 11, 0, tzinfo=WIB)) is None
    assert overrun(step, started, datetime(2026, 11, 22, 11, 20, tzinfo=WIB)) == M(20)


def test_overrun_ignores_the_event_date_for_duration_steps(sops) -> None:
    step = sops["singkawang"].steps[0]
    assert overrun(step, START, START + M(10), event_date=date(2000, 1, 1)) is None


def test_event_due_is_wib_midnight_minus_the_lead(sops) -> None:
    intake = sops["kendal"].steps[0]  # 1 hari sebelum pelaksanaan
    assert event_due(intake, date(2026, 12, 1)) == datetime(2026, 11, 30, 0, 0, tzinfo=WIB)
    assert event_due(intake, None) is None
    assert event_due(sops["kendal"].steps[1], date(2026, 12, 1)) is None  # a duration step


@pytest.mark.parametrize("ended, late", [
    (datetime(2026, 11, 29, 23, 59, tzinfo=WIB), None),
    (datetime(2026, 11, 30, 0, 0, tzinfo=WIB), None),       # exactly on time
    (datetime(2026, 11, 30, 2, 30, tzinfo=WIB), M(150)),
    (datetime(2026, 11, 29, 17, 30, tzinfo=timezone.utc), M(30)),  # 00:30 WIB on the 30th
])
def test_overrun_of_a_before_event_step(sops, ended: datetime, late: timedelta | None) -> None:
    intake = sops["kendal"].steps[0]
    started = datetime(2026, 11, 20, 9, 0, tzinfo=WIB)
    assert overrun(intake, started, ended, event_date=date(2026, 12, 1)) == late


def test_before_event_step_without_an_event_date_has_no_overrun(sops) -> None:
    intake = sops["kendal"].steps[0]
    assert overrun(intake, START, START + timedelta(days=30)) is None


def test_flexible_step_never_overruns(sops) -> None:
    upload = sops["kendal"].steps[-1]  # Menyesuaikan
    assert overrun(upload, START, START + timedelta(days=30), event_date=date(2026, 11, 1)) is None
