"""When a contact may be called: a local wall-clock window in the contact's own zone.

Pure functions over aware datetimes. Wall-clock semantics follow the clock on the
callee's wall, which is what "not before 9 a.m." means to a patient:

- a window that crosses midnight (20:00-02:00) belongs to the day it opens on, so a
  Friday-only window is open from Friday 20:00 to Saturday 02:00;
- spring forward: if the opening time does not exist that day (02:30 in New York on the
  second Sunday of March) the window opens at the first instant after the gap (03:00 EDT),
  provided the wall clock then still shows a time inside the window: 02:30-03:30 is open
  03:00-03:30 that night, while 02:10-02:50 does not exist at all and waits for a later day;
- fall back: a wall time that happens twice is inside the window both times. The window
  opens at the first occurrence and, once that has passed, again at the second, so a
  contact who missed the first pass is not pushed to the next day.

Only wall-clock readings matter, never fixed offsets: the zone's own rules (zoneinfo) say
what the clock shows at each instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import CallingWindow

# Any non-empty set of weekdays recurs within a week; a window lost in a spring-forward gap
# on its only weekday opens a week later, so two weeks always suffice.
_SEARCH_DAYS = 15


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


def _start_instants(window: CallingWindow, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Every instant from the day before `after` to the search's end at which the wall clock
    reads `window.start` on an opening day: once on most days, twice in a fall-back repeat,
    never in a spring-forward gap (the gap's end is an offset change instead).
    """
    first_day = after.astimezone(zone).date() - timedelta(days=1)
    for offset in range(_SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in window.day_indexes:
            continue
        for fold in (0, 1):
            wall = datetime.combine(day, window.start, tzinfo=zone).replace(fold=fold)
            instant = wall.astimezone(UTC)
            if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
                yield instant


def _offset(zone: ZoneInfo, timestamp: int) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, zone).utcoffset()


def _offset_changes(zone: ZoneInfo, start: datetime, stop: datetime) -> Iterator[datetime]:
    """The instants in (start, stop], in order, at which `zone`'s clocks jump.

    zoneinfo publishes no list of transitions, so probe hour by hour (no zone changes its
    offset twice within an hour) and bisect each change to the second (tzdata's changes
    fall on whole seconds). The first second on the new offset is yielded.
    """
    low, end = int(start.timestamp()), int(stop.timestamp())
    while low < end:
        high = min(low + 3600, end)
        if _offset(zone, low) != _offset(zone, high):
            before, after = low, high
            while after - before > 1:
                middle = (before + after) // 2
                if _offset(zone, middle) == _offset(zone, before):
                    before = middle
                else:
                    after = middle
            yield datetime.fromtimestamp(after, UTC)
        low = high


def next_opening(window: CallingWindow, zone: ZoneInfo, after: datetime) -> datetime:
    """The earliest instant at or after `after` when a call may be placed (UTC).

    The window can only go from closed to open when the wall clock reaches the start on an
    opening day, or when the clocks jump: into the surviving part of a window whose start
    fell in a spring-forward gap, or back into a window on fall-back. So the first open
    instant is the earliest open one among those candidates; nothing in between is skipped.
    """
    _require_aware(after)
    after = after.astimezone(UTC)
    if is_open(window, zone, after):
        return after
    starts = [s for s in _start_instants(window, zone, after) if s >= after]
    best = min((s for s in starts if is_open(window, zone, s)), default=None)
    limit = best if best is not None else after + timedelta(days=_SEARCH_DAYS)
    for change in _offset_changes(zone, after, limit):
        if change < limit and is_open(window, zone, change):
            return change
    if best is None:  # unreachable for a validated window; fail loudly rather than spin
        raise RuntimeError(f"window {window} never opens after {after.isoformat()}")
    return best


def local_day_start(zone: ZoneInfo, instant: datetime) -> datetime:
    """Midnight (UTC instant) that starts `instant`'s local day: the daily cap's day."""
    _require_aware(instant)
    local = instant.astimezone(zone)
    return datetime.combine(local.date(), time(0, 0), tzinfo=zone).astimezone(UTC)
