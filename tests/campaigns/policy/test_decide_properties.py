"""`decide` against the minute-by-minute oracle: no permit outside the rules, no minute lost.

Generated cases mix zones with DST (whole-hour, half-hour, at midnight), US states with
their own hours and 24-hour caps, the UK, Canada's weekday/weekend hours, a country with
no entry (the default floor), public holidays, deployer closure days, per-number caps
and the minimum gap, with histories of earlier calls from any campaign. For each case:
`decide` allows `now` exactly when the oracle does, and a refusal's "not before T" is
the oracle's first allowed minute.

The number of cases comes from a Hypothesis settings profile (`DIALTONE_POLICY_PROFILE`):
`callee-policy` (the default: 500 cases, about 5 s of CPU, 15-25 s on a busy 2-core machine) or
`callee-policy-100k`:

    DIALTONE_POLICY_PROFILE=callee-policy-100k .venv/bin/python -m pytest -q -p no:randomly \
        tests/campaigns/policy/test_decide_properties.py
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialtone.campaigns.models import CallingWindow, Weekday
from dialtone.campaigns.policy import CalleeLocation, decide, load_rules
from dialtone.campaigns.policy.rules import CallingRules, Closure, PerNumberCaps

from .oracle import MINUTE, Case, allowed, first_allowed, utc

settings.register_profile(
    "callee-policy",
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "callee-policy-100k", settings.get_profile("callee-policy"), max_examples=100_000
)
PROFILE = settings.get_profile(os.environ.get("DIALTONE_POLICY_PROFILE", "callee-policy"))

SHIPPED = load_rules()
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Phoenix",  # no DST
    "Europe/London",
    "America/St_Johns",  # half-hour offset
    "Australia/Lord_Howe",  # half-hour shift
    "America/Santiago",  # changes at midnight
)
PLACES = (
    ("US", None),
    ("US", "FL"),
    ("US", "OK"),
    ("US", "NY"),
    ("US", "CA"),
    ("GB", None),
    ("CA", "ON"),
    ("FR", None),  # no entry: the default hours
    (None, None),  # nothing known: the default hours
)
YEAR = 2026


@cache
def changes(zone_name: str) -> tuple[datetime, ...]:
    """UTC minutes at which `zone_name` changes its offset in YEAR (brute force)."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    hour = utc(YEAR, 1, 1)
    while hour.year == YEAR:
        following = hour + timedelta(hours=1)
        if hour.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            minute = hour
            while minute.astimezone(zone).utcoffset() == hour.astimezone(zone).utcoffset():
                minute += MINUTE
            found.append(minute)
        hour = following
    return tuple(found)


#: Days that close calls somewhere: US federal and state holidays, UK bank holidays.
HOLIDAYS = (
    utc(YEAR, 1, 1, 15),
    utc(YEAR, 7, 3, 15),
    utc(YEAR, 7, 4, 15),
    utc(YEAR, 11, 26, 15),
    utc(YEAR, 11, 27, 15),
    utc(YEAR, 12, 25, 15),
    utc(YEAR, 12, 28, 12),
    utc(YEAR, 5, 25, 15),
)


@st.composite
def anchors(draw: st.DrawFn, zone: str) -> datetime:
    kind = draw(st.sampled_from(("change", "holiday", "any")))
    if kind == "change" and changes(zone):
        base = draw(st.sampled_from(changes(zone)))
    elif kind == "holiday":
        base = draw(st.sampled_from(HOLIDAYS))
    else:
        base = utc(YEAR, 1, 1) + timedelta(minutes=draw(st.integers(0, 360 * 1440)))
    return base + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))


@st.composite
def rule_sets(draw: st.DrawFn, now: datetime) -> CallingRules:
    per_day = draw(st.integers(1, 5))
    caps = PerNumberCaps(
        per_day=per_day,
        per_week=draw(st.one_of(st.sampled_from((7, 10)), st.integers(per_day, 10))),
        min_gap_minutes=draw(st.sampled_from((0, 10, 30, 90, 240))),
    )
    closures = [
        Closure(
            date=now.date() + timedelta(days=draw(st.integers(-1, 3))),
            reason="clinic closed",
            regions=draw(st.sampled_from(([], ["US"], ["GB"], ["US-FL"]))),
        )
        for _ in range(draw(st.sampled_from((0, 0, 0, 1, 2))))
    ]
    return SHIPPED.model_copy(update={"per_number": caps, "closures": closures})


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone = draw(st.sampled_from(ZONES))
    country, region = draw(st.sampled_from(PLACES))
    now = draw(anchors(zone))
    # Mostly windows a clinic would set (opening 06:00-12:00, closing 15:00-23:00), some
    # anywhere: across midnight, a few minutes long, outside every legal hour.
    if draw(st.integers(0, 7)):
        start = draw(st.integers(6 * 60, 12 * 60))
        end = draw(st.integers(15 * 60, 23 * 60))
    else:
        start = draw(st.integers(0, 1439))
        end = (start + draw(st.integers(1, 1439))) % 1440
    mask = draw(
        st.one_of(
            st.sampled_from((0b1111111, 0b0011111, 0b0111111)),
            st.sampled_from((0b1111111, 0b0011111, 0b0111111)),
            st.integers(1, 127),
        )
    )
    recent = st.integers(0, 600)
    older = st.integers(0, 8 * 1440)
    history = tuple(
        now - timedelta(minutes=m)
        for m in draw(
            st.one_of(
                st.lists(st.one_of(recent, older), max_size=3),
                st.lists(st.one_of(recent, older), max_size=8),
            )
        )
    )
    return Case(
        zone=zone,
        country=country,
        region=region,
        start=start,
        end=end,
        days=frozenset(d for d in range(7) if mask >> d & 1),
        now=now,
        history=history,
        rules=draw(rule_sets(now)),
    )


def window(case: Case) -> CallingWindow:
    return CallingWindow(
        start=time(case.start // 60, case.start % 60),
        end=time(case.end // 60, case.end % 60),
        days=[d for d in Weekday if d.number in case.days],
    )


@PROFILE
@given(case=cases())
def test_decide_matches_the_minute_by_minute_oracle(case: Case) -> None:
    decision = decide(
        location=CalleeLocation(zone=case.zone, country=case.country, region=case.region),
        window=window(case),
        history=case.history,
        now=case.now,
        rules=case.rules,
    )
    if decision.allowed:
        assert allowed(case, case.now), "a permit outside the rules"
        return
    assert not allowed(case, case.now), f"refused ({decision.reason}) an allowed minute"
    assert decision.reason is not None and decision.detail
    if decision.not_before is None:  # nothing within the horizon: none in 8 days either
        assert first_allowed(case, case.now + timedelta(days=8)) is None
        return
    at = decision.not_before
    assert at > case.now
    assert allowed(case, at), f"not_before {at} is itself refused"
    assert first_allowed(case, at) == at, "an allowed minute before not_before was skipped"


def test_the_profile_is_the_one_named() -> None:
    """The 100k run must really run 100k cases (a typo would fall back silently)."""
    name = os.environ.get("DIALTONE_POLICY_PROFILE", "callee-policy")
    assert PROFILE.max_examples == settings.get_profile(name).max_examples


def test_a_day_is_the_callee_s_own() -> None:
    """Sanity for the oracle's dates: the generator's holidays fall on local days."""
    assert date(YEAR, 12, 25) == HOLIDAYS[5].astimezone(ZoneInfo("America/New_York")).date()
