"""Durations and moments in the words staff read: Bahasa Indonesia, in Western Indonesia Time (WIB).

    duration_words(timedelta(minutes=72))                  -> "1 jam 12 menit"
    wib(datetime(2026, 11, 30, 11, 28, tzinfo=timezone.utc)) -> "Senin, 30 November 2026 pukul 18.28 WIB"
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")  # in datetime.weekday() order
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
_UNITS = (("hari", 24 * 60), ("jam", 60), ("menit", 1))


def duration_words(td: timedelta) -> str:
    """``td`` in days, hours and whole minutes, leaving out the units that are zero: ``1 hari 2 jam``,
    ``1 jam 12 menit``, ``30 menit``; ``kurang dari 1 menit`` below a minute. Seconds are dropped."""
    if td < timedelta(0):
        raise ValueError(f"duration_words: {td!r} is negative; give how long something took or is late")
    minutes = int(td.total_seconds() // 60)
    if minutes == 0:
        return "kurang dari 1 menit"
    parts = []
    for unit, size in _UNITS:
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts)


def wib(dt: datetime) -> str:
    """An aware moment as staff read it, in WIB: ``Senin, 30 November 2026 pukul 18.28 WIB``."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"wib: {dt.isoformat()} has no time zone, so its WIB time is unknown; "
                         "give an aware datetime, e.g. datetime.now(timezone.utc)")
    local = dt.astimezone(WIB)
    return (f"{DAYS[local.weekday()]}, {local.day} {MONTHS[local.month - 1]} {local.year} "
            f"pukul {local.hour:02d}.{local.minute:02d} WIB")
