"""The one answer to "may this number be called now?": a pure function of its inputs.

`decide` takes the callee's location, the campaign's window, the calls already made to
the number by every campaign (their instants), the time and the rules, and answers
"yes" or "not before T, because R". The scheduler, the dial permit and the console ask
it; nothing else decides whether a campaign call may start.

Each rule is a constraint with two questions: is instant t allowed, and what is the
earliest allowed instant at or after t. The answer for all of them together is found
by a fixpoint: from t = now, move t to the latest of the constraints' earliest allowed
instants until every constraint allows t. No allowed instant is ever skipped: any
instant s >= t that all constraints allow is at or after each one's earliest allowed
instant from t, so at or after the new t too.

Calls in the history count from their instant on; a call not yet dialled (claimed,
in flight) counts already, so two campaigns cannot both take the same number at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holiday_data

from ..models import CallingWindow
from ..windows import is_open, next_opening
from .location import CalleeLocation
from .rules import CallingRules

#: Looked ahead this far for an allowed instant; beyond it the answer is "not before
#: the horizon" and the question is asked again then.
HORIZON = timedelta(days=60)
_MAX_STEPS = 500


class Reason(StrEnum):
    """Why a call may not start now: the labels of refusal counts and metrics."""

    CAMPAIGN_WINDOW = "campaign_window"
    LEGAL_HOURS = "legal_hours"
    HOLIDAY = "holiday"
    CLOSURE = "closure"
    DAILY_CAP = "daily_cap"
    WEEKLY_CAP = "weekly_cap"
    CALLS_24H = "calls_24h"
    MIN_GAP = "min_gap"


@dataclass(frozen=True, kw_only=True)
class Decision:
    """`allowed`, or refused with the earliest instant a call may start and why not now."""

    allowed: bool
    not_before: datetime | None = None
    reason: Reason | None = None
    detail: str = ""

    @property
    def refusal(self) -> str | None:
        """One line for an attempt's detail, or None when allowed."""
        if self.allowed:
            return None
        when = self.not_before.isoformat() if self.not_before else "the search horizon"
        return f"{self.detail}; not before {when}"


@dataclass(frozen=True)
class _Constraint:
    reason: Reason
    detail: str
    ok: Callable[[datetime], bool]
    #: the earliest allowed instant at or after t (t itself if allowed); None: never
    next_ok: Callable[[datetime], datetime | None]


def decide(
    *,
    location: CalleeLocation,
    window: CallingWindow,
    history: Sequence[datetime],
    now: datetime,
    rules: CallingRules,
) -> Decision:
    """May the campaign call this callee at `now`? See the module docstring."""
    if now.tzinfo is None:
        raise ValueError("an aware datetime is required")
    now = now.astimezone(UTC)
    constraints = _constraints(location, window, history, rules)
    failing = [c for c in constraints if not c.ok(now)]
    if not failing:
        return Decision(allowed=True)
    at: datetime | None = now
    limit = now + HORIZON
    for _ in range(_MAX_STEPS):
        assert at is not None
        nexts = [c.next_ok(at) for c in constraints]
        if any(n is None for n in nexts):
            at = None
            break
        latest = max(n for n in nexts if n is not None)
        if latest == at:
            break
        at = latest
        if at > limit:
            at = None
            break
    # The rule that holds the call back longest is the one to name.
    blocking = max(failing, key=lambda c: c.next_ok(now) or limit)
    return Decision(allowed=False, not_before=at, reason=blocking.reason, detail=blocking.detail)


def _constraints(
    location: CalleeLocation,
    window: CallingWindow,
    history: Sequence[datetime],
    rules: CallingRules,
) -> list[_Constraint]:
    zone = ZoneInfo(location.zone)
    calls = sorted(h.astimezone(UTC) for h in history)
    found: list[_Constraint] = [
        _window(Reason.CAMPAIGN_WINDOW, "outside the campaign's calling window", [window], zone)
    ]
    entries = rules.applicable(location.country, location.region)
    spans = [(key, entry.hours) for key, entry in entries if entry.hours]
    if not spans:
        spans = [("default", rules.default_hours)]
    for key, hours in spans:
        shown = " or ".join(h.describe() for h in hours)
        found.append(
            _window(
                Reason.LEGAL_HOURS,
                f"outside the legal calling hours for {key} ({shown} at the callee's location)",
                [h.window for h in hours],
                zone,
            )
        )
    if location.country and any(entry.holidays for _, entry in entries):
        names = public_holidays(location.country, location.region)
        found.append(
            _days_off(Reason.HOLIDAY, f"a public holiday in {location.key}", names.get, zone)
        )
    closed = rules.closure_days(location.country, location.region)
    if closed:
        found.append(_days_off(Reason.CLOSURE, "a closure day", closed.get, zone))
    caps = rules.per_number
    found.append(_per_day(caps.per_day, calls, zone))
    found.append(
        _rolling(
            Reason.WEEKLY_CAP,
            f"{caps.per_week} calls to this number in 7 days (all campaigns)",
            caps.per_week,
            timedelta(days=7),
            calls,
        )
    )
    subject = [e.max_calls_24h for _, e in entries if e.max_calls_24h is not None]
    if subject:
        cap = min(subject)
        found.append(
            _rolling(
                Reason.CALLS_24H,
                f"{cap} calls to this number in 24 hours, the limit in {location.key}",
                cap,
                timedelta(hours=24),
                calls,
            )
        )
    if caps.min_gap_minutes and calls:
        gap = timedelta(minutes=caps.min_gap_minutes)
        found.append(
            _Constraint(
                Reason.MIN_GAP,
                f"called less than {caps.min_gap_minutes} minutes ago",
                lambda t: t >= calls[-1] + gap,
                lambda t: max(t, calls[-1] + gap),
            )
        )
    return found


def _window(reason: Reason, detail: str, spans: list[CallingWindow], zone: ZoneInfo) -> _Constraint:
    """Open when any of `spans` is open on the callee's wall clock."""
    return _Constraint(
        reason,
        detail,
        lambda t: any(is_open(s, zone, t) for s in spans),
        lambda t: min(next_opening(s, zone, t) for s in spans),
    )


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of local `day` (a midnight lost to a clock change: the gap's end)."""
    instant = datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).date() < day:  # midnight repeated: not possible; be safe
        instant += timedelta(hours=1)
    return instant


def _days_off(
    reason: Reason, detail: str, closed: Callable[[date], str | None], zone: ZoneInfo
) -> _Constraint:
    def ok(t: datetime) -> bool:
        return closed(t.astimezone(zone).date()) is None

    def next_ok(t: datetime) -> datetime | None:
        day = t.astimezone(zone).date()
        if closed(day) is None:
            return t
        for _ in range(400):
            day += timedelta(days=1)
            if closed(day) is None:
                return local_midnight(day, zone)
        return None

    return _Constraint(reason, detail, ok, next_ok)


def _per_day(cap: int, calls: list[datetime], zone: ZoneInfo) -> _Constraint:
    days = [c.astimezone(zone).date() for c in calls]

    def count(day: date) -> int:
        return sum(1 for d in days if d == day)

    def next_ok(t: datetime) -> datetime:
        day = t.astimezone(zone).date()
        while count(day) >= cap:
            day += timedelta(days=1)
        return t if day == t.astimezone(zone).date() else local_midnight(day, zone)

    return _Constraint(
        Reason.DAILY_CAP,
        f"{cap} calls to this number today (all campaigns, the callee's day)",
        lambda t: count(t.astimezone(zone).date()) < cap,
        next_ok,
    )


def _rolling(
    reason: Reason, detail: str, cap: int, period: timedelta, calls: list[datetime]
) -> _Constraint:
    """At most `cap - 1` earlier calls after t - period, so this one is at most the cap-th."""

    def within(t: datetime) -> list[datetime]:
        return [c for c in calls if c > t - period]

    def next_ok(t: datetime) -> datetime:
        recent = within(t)
        if len(recent) < cap:
            return t
        # the cap-th newest call must leave the period: t' - period >= it
        return recent[-cap] + period

    return _Constraint(reason, detail, lambda t: len(within(t)) < cap, next_ok)


@lru_cache(maxsize=256)
def public_holidays(country: str, region: str | None) -> holiday_data.HolidayBase:
    """The `holidays` package's public holidays of a country (and its subdivision if the
    package knows it); an unknown country has none."""
    try:
        return holiday_data.country_holidays(country, subdiv=region)
    except NotImplementedError:
        try:
            return holiday_data.country_holidays(country)
        except NotImplementedError:
            return holiday_data.HolidayBase()
