"""Durations and moments in Bahasa Indonesia words, in WIB (humas.timetext)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from humas.timetext import WIB, duration_words, wib


def M(minutes: float) -> timedelta:  # noqa: N802 - reads like a unit
    return timedelta(minutes=minutes)


@pytest.mark.parametrize(("td", "text"), [
    (M(0), "kurang dari 1 menit"),
    (timedelta(seconds=59), "kurang dari 1 menit"),
    (M(1), "1 menit"),
    (M(30), "30 menit"),
    (M(30) + timedelta(seconds=59), "30 menit"),     # whole minutes only
    (M(60), "1 jam"),
    (M(72), "1 jam 12 menit"),
    (M(90), "1 jam 30 menit"),
    (M(180), "3 jam"),
    (M(24 * 60), "1 hari"),
    (M(26 * 60), "1 hari 2 jam"),
    (M(24 * 60 + 5), "1 hari 5 menit"),
    (M(3 * 24 * 60 + 61), "3 hari 1 jam 1 menit"),
])
def test_duration_words(td: timedelta, text: str) -> None:
    assert duration_words(td) == text


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        duration_words(M(-5))


@pytest.mark.parametrize(("moment", "text"), [
    (datetime(2026, 11, 30, 18, 28, tzinfo=WIB), "Senin, 30 November 2026 pukul 18.28 WIB"),
    (datetime(2026, 11, 30, 18, 28, 59, 999999, tzinfo=WIB), "Senin, 30 November 2026 pukul 18.28 WIB"),
    (datetime(2026, 11, 30, 11, 28, tzinfo=timezone.utc), "Senin, 30 November 2026 pukul 18.28 WIB"),
    # 17:05 UTC on the last day of the year is already the next day, and the next year, in WIB
    (datetime(2026, 12, 31, 17, 5, tzinfo=timezone.utc), "Jumat, 1 Januari 2027 pukul 00.05 WIB"),
    (datetime(2026, 6, 7, 9, 0, tzinfo=timezone(timedelta(hours=9))), "Minggu, 7 Juni 2026 pukul 07.00 WIB"),
])
def test_wib(moment: datetime, text: str) -> None:
    assert wib(moment) == text


def test_every_day_and_month_has_its_indonesian_name() -> None:
    days = {wib(datetime(2026, 3, d, 12, tzinfo=WIB)).split(",")[0] for d in range(2, 9)}
    months = {wib(datetime(2026, m, 1, 12, tzinfo=WIB)).split()[2] for m in range(1, 13)}
    assert days == {"Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"}
    assert len(months) == 12 and {"Januari", "Agustus", "Desember"} <= months


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone.*give an aware datetime"):
        wib(datetime(2026, 11, 30, 18, 28))
