"""The pace's arithmetic: slots with headroom, senders within tolerance, receiver seconds."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialtone.campaigns.pace import LATE_TOLERANCE, TrunkPace

T0 = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)


def test_the_interval_keeps_headroom_for_lateness_and_jitter() -> None:
    pace = TrunkPace(calls_per_second=10)
    assert pace.interval == timedelta(seconds=0.12)
    assert pace.sustained == pytest.approx(8.333, abs=0.001)
    assert TrunkPace(calls_per_second=10, jitter=0).interval == timedelta(seconds=0.11)


def test_a_sender_past_the_tolerance_has_missed_its_slot() -> None:
    pace = TrunkPace(calls_per_second=10)
    assert not pace.missed(T0, T0)
    assert not pace.missed(T0, T0 + timedelta(seconds=LATE_TOLERANCE))
    assert pace.missed(T0, T0 + timedelta(seconds=LATE_TOLERANCE + 0.001))


@pytest.mark.parametrize("bad", [{"calls_per_second": 0}, {"calls_per_second": 1, "jitter": -1}])
def test_a_pace_that_cannot_hold_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TrunkPace(**bad)


US = 1_000_000  # microseconds: the limiter's own resolution, and exact arithmetic


@st.composite
def traffic(draw: st.DrawFn) -> tuple[TrunkPace, list[tuple[int, int, int]]]:
    """A pace and calls on it: (slot, sent after the slot, on the way) in microseconds.

    Slots are at least the interval apart (the limiter's promise, whatever the idle
    gaps), each send is within the tolerance of its slot (a later one took a fresh
    slot), and each delay is within the jitter of the path's shortest delay.
    """
    cps = draw(st.integers(min_value=1, max_value=40))
    jitter = draw(st.sampled_from([0.0, 0.05, 0.1, 0.25]))
    pace = TrunkPace(calls_per_second=cps, jitter=jitter)
    step = pace.interval // timedelta(microseconds=1)
    tolerance = round(pace.late_tolerance * US)
    base_delay = draw(st.integers(min_value=0, max_value=2 * US))
    slot = draw(st.integers(min_value=0, max_value=US))
    calls = []
    for _ in range(draw(st.integers(min_value=1, max_value=120))):
        late = draw(st.integers(min_value=0, max_value=tolerance))
        delay = base_delay + draw(st.integers(min_value=0, max_value=round(jitter * US)))
        calls.append((slot, late, delay))
        slot += step + draw(st.sampled_from([0, 0, 0, 1, step // 3, 7 * US // 10]))
    return pace, calls


# a busy machine draws slowly: no deadline, no slowness health check (not timing-bound)
@settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(traffic())
def test_no_receiver_second_holds_more_than_the_trunks_calls_per_second(
    drawn: tuple[TrunkPace, list[tuple[int, int, int]]],
) -> None:
    pace, calls = drawn
    per_second = Counter((slot + late + delay) // US for slot, late, delay in calls)
    assert max(per_second.values()) <= pace.calls_per_second


def test_without_the_headroom_one_late_sender_overruns_a_second() -> None:
    """Why the headroom: slots exactly 1/cps apart from 0.95 s, the first sent at the
    end of its tolerance and the rest on time: 11 calls arrive in second 1 at 10/s."""
    cps = 10
    slots = [950_000 + i * US // cps for i in range(cps + 1)]
    arrivals = [slots[0] + round(LATE_TOLERANCE * US), *slots[1:]]
    assert Counter(t // US for t in arrivals)[1] == cps + 1
