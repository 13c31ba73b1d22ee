"""A deliberately dumb reading of the calling rules, one instant at a time.

Shared by the policy's property tests: it reads the callee's wall clock and counts the
history by brute force, with none of `decide`'s search. The `holidays` package is the
data both read (the test checks the policy applies it, not the package's calendar).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import holidays

from dialtone.campaigns.policy.rules import CallingRules

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, eq=False)  # hashed by identity: the day cache's key
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


@cache
def _span(start: time, end: time, days: tuple[int, ...]) -> tuple[int, int, frozenset[int]]:
    return start.hour * 60 + start.minute, end.hour * 60 + end.minute, frozenset(days)


@cache
def _holiday_calendar(country: str, region: str | None) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(country, subdiv=region)
    except NotImplementedError:
        try:
            return holidays.country_holidays(country)
        except NotImplementedError:
            return holidays.HolidayBase()


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def day_closed(case: Case, instant: datetime) -> bool:
    """The rules that close a whole local day: holidays, closure days, the daily cap."""
    return _day_closed(case, instant.astimezone(_zone(case.zone)).date())


@lru_cache(maxsize=4096)
def _day_closed(case: Case, today: date) -> bool:
    zone = _zone(case.zone)
    keys = _keys(case)
    entries = [case.rules.regions[k] for k in keys if k in case.rules.regions]
    holiday = case.country and any(e.holidays for e in entries)
    if holiday and today in _holiday_calendar(str(case.country), case.region):
        return True
    for closure in case.rules.closures:
        if closure.date == today and (not closure.regions or set(closure.regions) & set(keys)):
            return True
    calls_today = sum(1 for c in case.history if c.astimezone(zone).date() == today)
    return calls_today >= case.rules.per_number.per_day


def _keys(case: Case) -> list[str]:
    region = f"{case.country}-{case.region}" if case.country and case.region else None
    return [k for k in (case.country, region) if k]


@dataclass(frozen=True)
class _Facts:
    """A case's rules, unpacked once: the oracle reads them at every minute."""

    spans: tuple[tuple[tuple[int, int, frozenset[int]], ...], ...]
    per_week: int
    subject: int | None
    free_from: datetime | None  # the minimum gap's end


@lru_cache(maxsize=64)
def _facts(case: Case) -> _Facts:
    entries = [case.rules.regions[k] for k in _keys(case) if k in case.rules.regions]
    hours = [e.hours for e in entries if e.hours] or [case.rules.default_hours]
    spans = tuple(
        tuple(_span(h.start, h.end, tuple(d.number for d in h.days)) for h in group)
        for group in hours
    )
    subject = [e.max_calls_24h for e in entries if e.max_calls_24h is not None]
    gap = timedelta(minutes=case.rules.per_number.min_gap_minutes)
    return _Facts(
        spans=spans,
        per_week=case.rules.per_number.per_week,
        subject=min(subject) if subject else None,
        free_from=max(case.history) + gap if case.history else None,
    )


def allowed(case: Case, instant: datetime) -> bool:
    """Every rule, read straight off the wall clock and the history at `instant`."""
    zone = _zone(case.zone)
    wall = instant.astimezone(zone)
    minute, weekday = wall.hour * 60 + wall.minute, wall.weekday()
    yesterday = (weekday - 1) % 7
    if case.start < case.end:
        in_window = weekday in case.days and case.start <= minute < case.end
    else:
        in_window = (weekday in case.days and minute >= case.start) or (
            yesterday in case.days and minute < case.end
        )
    if not in_window:
        return False
    facts = _facts(case)
    for group in facts.spans:
        if not any(weekday in days and start <= minute < end for start, end, days in group):
            return False
    if _day_closed(case, wall.date()):
        return False
    if facts.free_from is not None and instant < facts.free_from:
        return False
    calls: Sequence[datetime] = case.history
    if sum(1 for c in calls if c > instant - timedelta(days=7)) >= facts.per_week:
        return False
    return not (
        facts.subject is not None
        and sum(1 for c in calls if c > instant - timedelta(hours=24)) >= facts.subject
    )


def first_allowed(case: Case, until: datetime) -> datetime | None:
    """The first whole minute in [now, until] the rules allow, walking one minute a time.

    A local day a day-level rule closes is closed at every minute, so the walk crosses it
    an hour at a time and steps back to its last minute: only a speed-up, the minutes
    after it are still read one by one.
    """
    zone = _zone(case.zone)
    instant = case.now
    while instant <= until:
        if day_closed(case, instant):
            closed = instant.astimezone(zone).date()
            while instant.astimezone(zone).date() == closed:
                instant += 60 * MINUTE
            while (instant - MINUTE).astimezone(zone).date() != closed:
                instant -= MINUTE
            continue
        if allowed(case, instant):
            return instant
        instant += MINUTE
    return None


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
