"""Calling windows checked against a minute-by-minute oracle around real DST changes.

The oracle is deliberately dumb: walk UTC one minute at a time, read the contact's wall
clock, and test the window's rule on it. `next_opening` must agree with it to the minute
on both nights of the year, in zones that shift by an hour, by half an hour, at midnight,
or not at all. A failing example prints the zone, window, days and instant to reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.campaigns.models import CallingWindow, Weekday
from dialtone.campaigns.windows import is_open, next_opening

ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # half-hour shift
    "Asia/Kolkata",  # no DST at all
    "America/St_Johns",  # half-hour offset, whole-hour shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "Europe/Berlin",
    "America/Santiago",  # changes at midnight
)
YEARS = range(2024, 2031)
MINUTE = timedelta(minutes=1)
HORIZON = timedelta(days=8)  # the oracle looks this far ahead and no further


@dataclass(frozen=True)
class Case:
    zone: ZoneInfo
    start: int  # minute of the local day
    end: int
    days: frozenset[int]  # Monday = 0
    now: datetime

    def window(self) -> CallingWindow:
        return CallingWindow(
            start=time(self.start // 60, self.start % 60),
            end=time(self.end // 60, self.end % 60),
            days=[d for d in Weekday if d.number in self.days],
        )


def oracle_open(case: Case, instant: datetime) -> bool:
    """The window's rule read straight off the wall clock at `instant`."""
    wall = instant.astimezone(case.zone)
    minute = wall.hour * 60 + wall.minute
    today = wall.weekday()
    yesterday = (today - 1) % 7
    if case.start < case.end:
        return today in case.days and case.start <= minute < case.end
    evening = today in case.days and minute >= case.start
    small_hours = yesterday in case.days and minute < case.end
    return evening or small_hours


def oracle_first_open(case: Case) -> datetime | None:
    """The first whole UTC minute at or after `case.now` inside the window, if any soon."""
    instant = case.now
    while instant < case.now + HORIZON:
        if oracle_open(case, instant):
            return instant
        instant += MINUTE
    return None


@cache
def changes(zone_name: str, year: int) -> tuple[datetime, ...]:
    """UTC minutes at which `zone_name` changes its offset in `year` (found by brute force).

    A zone without DST gets two ordinary nights instead, so it is still exercised.
    """
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    hour = datetime(year, 1, 1, tzinfo=UTC)
    while hour.year == year:
        following = hour + timedelta(hours=1)
        if hour.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            minute = hour
            while minute.astimezone(zone).utcoffset() == hour.astimezone(zone).utcoffset():
                minute += MINUTE
            found.append(minute)
        hour = following
    return tuple(found) or (datetime(year, 3, 15, tzinfo=UTC), datetime(year, 11, 1, tzinfo=UTC))


# Most DST changes happen between 00:00 and 04:00 local, Santiago's at midnight: bias the
# window's edges there so gaps and repeats cut through windows often.
minute_of_day = st.one_of(
    st.integers(0, 1439),
    st.integers(0, 4 * 60).map(lambda m: m - m % 5),
    st.integers(22 * 60, 1439).map(lambda m: m - m % 5),
)
# Short windows (shorter than a gap, or ending inside a repeat) are where DST bites.
length = st.one_of(st.integers(1, 1439), st.integers(1, 120))
# Offsets from the change: mostly within a few hours of it, sometimes days either side.
near = st.one_of(st.integers(-240, 240), st.integers(-3 * 1440, 3 * 1440))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone_name = draw(st.sampled_from(ZONES))
    change = draw(st.sampled_from(changes(zone_name, draw(st.sampled_from(YEARS)))))
    start = draw(minute_of_day)
    end = (start + draw(length)) % 1440
    mask = draw(st.integers(1, 0b1111111))  # a non-empty set of weekdays, bit 0 = Monday
    days = frozenset(d for d in range(7) if mask >> d & 1)
    now = change + draw(near) * MINUTE
    return Case(zone=ZoneInfo(zone_name), start=start, end=end, days=days, now=now)


@settings(max_examples=1500, deadline=None, database=None)
@given(case=cases())
def test_next_opening_matches_the_minute_by_minute_oracle(case: Case) -> None:
    opening = next_opening(case.window(), case.zone, case.now)
    assert opening >= case.now
    assert oracle_open(case, opening), "next_opening returned a closed instant"
    first = oracle_first_open(case)
    if first is None:
        assert opening >= case.now + HORIZON, "the oracle saw no open minute within the horizon"
    else:
        assert opening == first, "next_opening skipped an open minute"


@settings(max_examples=1000, deadline=None, database=None)
@given(case=cases())
def test_is_open_matches_the_oracle(case: Case) -> None:
    assert is_open(case.window(), case.zone, case.now) == oracle_open(case, case.now)
