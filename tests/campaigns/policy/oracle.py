"""A deliberately dumb reading of the calling rules, one instant at a time.

Shared by the policy's property tests: it reads the callee's wall clock and counts the
history by brute force, with none of `decide`'s search. The `holidays` package is the
data both read (the test checks the policy applies it, not the package's calendar).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from dialtone.campaigns.policy.rules import CallingRules, LegalHours

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Case:
    zone: str
    country: str | None
    region: str | None
    start: int  # the campaign window, minutes of the local day
    end: int
    days: frozenset[int]  # Monday = 0
    now: datetime
    history: tuple[datetime, ...]
    rules: CallingRules


def _minute(instant: datetime, zone: ZoneInfo) -> tuple[int, int, datetime]:
    wall = instant.astimezone(zone)
    return wall.hour * 60 + wall.minute, wall.weekday(), wall


def _in_span(span: LegalHours, minute: int, weekday: int) -> bool:
    start = span.start.hour * 60 + span.start.minute
    end = span.end.hour * 60 + span.end.minute
    return weekday in {d.number for d in span.days} and start <= minute < end


def _holiday_calendar(country: str, region: str | None) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(country, subdiv=region)
    except NotImplementedError:
        try:
            return holidays.country_holidays(country)
        except NotImplementedError:
            return holidays.HolidayBase()


def allowed(case: Case, instant: datetime) -> bool:
    """Every rule, read straight off the wall clock and the history at `instant`."""
    zone = ZoneInfo(case.zone)
    minute, weekday, wall = _minute(instant, zone)
    yesterday = (weekday - 1) % 7
    if case.start < case.end:
        in_window = weekday in case.days and case.start <= minute < case.end
    else:
        in_window = (weekday in case.days and minute >= case.start) or (
            yesterday in case.days and minute < case.end
        )
    if not in_window:
        return False
    keys = [k for k in (case.country, f"{case.country}-{case.region}" if case.region else None) if k]
    entries = [case.rules.regions[k] for k in keys if k in case.rules.regions]
    spans = [e.hours for e in entries if e.hours] or [case.rules.default_hours]
    for hours in spans:
        if not any(_in_span(span, minute, weekday) for span in hours):
            return False
    today = wall.date()
    if case.country and any(e.holidays for e in entries):
        if today in _holiday_calendar(case.country, case.region):
            return False
    for closure in case.rules.closures:
        if closure.date == today and (not closure.regions or set(closure.regions) & set(keys)):
            return False
    caps = case.rules.per_number
    calls: Sequence[datetime] = case.history
    if sum(1 for c in calls if c.astimezone(zone).date() == today) >= caps.per_day:
        return False
    if sum(1 for c in calls if c > instant - timedelta(days=7)) >= caps.per_week:
        return False
    subject = [e.max_calls_24h for e in entries if e.max_calls_24h is not None]
    if subject and sum(1 for c in calls if c > instant - timedelta(hours=24)) >= min(subject):
        return False
    gap = timedelta(minutes=caps.min_gap_minutes)
    return not (calls and instant < max(calls) + gap)


def first_allowed(case: Case, until: datetime) -> datetime | None:
    """The first whole minute in [now, until] the rules allow, walking one minute a time."""
    instant = case.now
    while instant <= until:
        if allowed(case, instant):
            return instant
        instant += MINUTE
    return None


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
