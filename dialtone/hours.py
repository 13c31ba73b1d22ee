"""When a person is there to take a transfer: the persona's free-text `hours`.

Format: one or more `;`-separated spans, each `<days> <HH:MM>-<HH:MM>`, with one IANA
time zone at the end, e.g. "Mon-Fri 08:00-17:00; Sat 09:00-12:00 America/New_York".
Days are `Mon`..`Sun`, ranges (`Mon-Fri`) or lists (`Mon,Wed`). Times are wall-clock
times in that zone, so daylight-saving changes need no care from the operator: every
check converts "now" into the zone first (zoneinfo), never adds fixed offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(?P<days>[A-Za-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


class HoursError(ValueError):
    """The hours text cannot be understood; the message says what to write."""


@dataclass(frozen=True)
class Span:
    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class Hours:
    """Parsed opening hours in one time zone."""

    spans: tuple[Span, ...]
    zone: ZoneInfo

    def is_open(self, now: datetime) -> bool:
        """Whether `now` (timezone-aware) falls inside a span, in the hours' own zone."""
        local = _aware(now).astimezone(self.zone)
        return any(
            local.weekday() in s.days and s.start <= local.time().replace(tzinfo=None) < s.end
            for s in self.spans
        )

    def next_open(self, now: datetime) -> datetime | None:
        """The next moment a span starts after `now`, in the hours' zone (None if never)."""
        local = _aware(now).astimezone(self.zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            starts = sorted(s.start for s in self.spans if day.weekday() in s.days)
            for start in starts:
                candidate = datetime.combine(day, start, tzinfo=self.zone)
                if candidate > local:
                    return candidate
        return None

    def callback_phrase(self, now: datetime) -> str:
        """How to tell the caller when someone will call back, e.g. "tomorrow after 8 AM"."""
        when = self.next_open(now)
        if when is None:
            return "as soon as someone is available"
        local_now = _aware(now).astimezone(self.zone)
        clock = when.strftime("%I:%M %p").lstrip("0").replace(":00", "")
        days_ahead = (when.date() - local_now.date()).days
        if days_ahead == 0:
            day = "today"
        elif days_ahead == 1:
            day = "tomorrow"
        else:
            day = "on " + when.strftime("%A")
        return f"{day} after {clock}"


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime")
    return now


def _day_set(text: str) -> frozenset[int]:
    result: set[int] = set()
    for part in text.lower().split(","):
        bounds = part.split("-")
        if len(bounds) not in (1, 2) or any(b[:3] not in DAYS or len(b) < 3 for b in bounds):
            raise HoursError(f"unknown day {part!r}: use Mon, Tue, ... Sun, or ranges like Mon-Fri")
        first, last = DAYS.index(bounds[0][:3]), DAYS.index(bounds[-1][:3])
        index = first
        while True:
            result.add(index)
            if index == last:
                break
            index = (index + 1) % 7
    return frozenset(result)


def _clock(text: str) -> time:
    hour, minute = (int(x) for x in text.split(":"))
    if hour == 24 and minute == 0:
        return time(23, 59, 59, 999999)
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise HoursError(f"{text!r} is not a time of day")
    return time(hour, minute)


def parse_hours(text: str) -> Hours:
    """Parse persona hours text; raises `HoursError` naming what is wrong."""
    body, _, zone_name = text.strip().rpartition(" ")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"{text!r} must end with a time zone such as America/New_York") from None
    spans: list[Span] = []
    for chunk in body.split(";"):
        match = _SPAN.match(chunk.strip())
        if match is None:
            raise HoursError(f"{chunk.strip()!r}: write spans like 'Mon-Fri 08:00-17:00'")
        start, end = _clock(match["start"]), _clock(match["end"])
        if not start < end:
            raise HoursError(f"{chunk.strip()!r}: the end must be after the start")
        spans.append(Span(_day_set(match["days"]), start, end))
    return Hours(tuple(spans), zone)
