"""When a contact may be called: a local wall-clock window in the contact's own zone.

Pure functions over aware datetimes. Wall-clock semantics follow the clock on the
callee's wall, which is what "not before 9 a.m." means to a patient:

- a window that crosses midnight (20:00-02:00) belongs to the day it opens on, so a
  Friday-only window is open from Friday 20:00 to Saturday 02:00;
- spring forward: if the opening time does not exist that day (02:30 in New York on the
  second Sunday of March) the window opens at the first instant the wall clock shows a
  later time (03:00 EDT);
- fall back: a wall time that happens twice is inside the window both times, and the
  window opens at its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import CallingWindow

_SEARCH_DAYS = 9  # any non-empty set of weekdays recurs within a week


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("an aware datetime is required (UTC from the scheduler's clock)")


def is_open(window: CallingWindow, zone: ZoneInfo, instant: datetime) -> bool:
    """True when `instant` falls inside `window` on the wall clock of `zone`."""
    _require_aware(instant)
    local = instant.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    day = local.weekday()
    days = window.day_indexes
    if window.start < window.end:
        return day in days and window.start <= wall < window.end
    # crosses midnight: the evening part of an opening day, or the morning after one
    return (day in days and wall >= window.start) or ((day - 1) % 7 in days and wall < window.end)


def _opening_instant(window: CallingWindow, zone: ZoneInfo, day: date) -> datetime | None:
    """The first UTC instant at which the window that opens on `day` is open, if any."""
    candidates = [
        datetime.combine(day, window.start, tzinfo=zone).replace(fold=fold).astimezone(UTC)
        for fold in (0, 1)
    ]
    open_ones = [c for c in candidates if is_open(window, zone, c)]
    early, late = min(candidates), max(candidates)
    if not open_ones:
        return None
    first = min(open_ones)
    if first == early or early == late:
        return first
    # The wall time does not exist (spring forward): the earlier reading lies before the
    # gap, the later one after it. The window opens at the gap's end; find it to the second.
    lo, hi = early, first
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if is_open(window, zone, mid):
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) if is_open(window, zone, hi.replace(microsecond=0)) else hi


def next_opening(window: CallingWindow, zone: ZoneInfo, after: datetime) -> datetime:
    """The earliest instant at or after `after` (UTC) when a call may be placed."""
    _require_aware(after)
    if is_open(window, zone, after):
        return after.astimezone(UTC)
    local_day = after.astimezone(zone).date()
    best: datetime | None = None
    for offset in range(-1, _SEARCH_DAYS):
        day = local_day + timedelta(days=offset)
        if day.weekday() not in window.day_indexes:
            continue
        opening = _opening_instant(window, zone, day)
        if opening is not None and opening >= after and (best is None or opening < best):
            best = opening
    if best is None:  # unreachable for a validated window; fail loudly rather than spin
        raise RuntimeError(f"window {window} never opens after {after.isoformat()}")
    return best


def local_day_start(zone: ZoneInfo, instant: datetime) -> datetime:
    """Midnight (UTC instant) that starts `instant`'s local day: the daily cap's day."""
    _require_aware(instant)
    local = instant.astimezone(zone)
    return datetime.combine(local.date(), time(0, 0), tzinfo=zone).astimezone(UTC)
