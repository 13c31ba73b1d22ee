"""Calling windows on the contact's wall clock: midnight, DST, zones."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dialtone.campaigns.models import CallingWindow, Weekday
from dialtone.campaigns.windows import is_open, local_day_start, next_opening

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]
EVERY_DAY = list(Weekday)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)


def window(start: str, end: str, days: list[Weekday] | None = None) -> CallingWindow:
    return CallingWindow(
        start=time.fromisoformat(start), end=time.fromisoformat(end), days=days or EVERY_DAY
    )


def test_daytime_window_edges_are_start_inclusive_end_exclusive() -> None:
    w = window("09:00", "20:00")
    assert not is_open(w, NY, local(NY, 2026, 6, 10, 8, 59, 59))
    assert is_open(w, NY, local(NY, 2026, 6, 10, 9, 0))
    assert is_open(w, NY, local(NY, 2026, 6, 10, 19, 59, 59))
    assert not is_open(w, NY, local(NY, 2026, 6, 10, 20, 0))


def test_same_instant_open_in_one_zone_closed_in_another() -> None:
    w = window("09:00", "20:00")
    instant = utc(2026, 6, 10, 14, 0)  # 10:00 in New York, 15:00 in London, 23:00 Tokyo
    assert is_open(w, NY, instant)
    assert is_open(w, LONDON, instant)
    assert not is_open(w, TOKYO, instant)
    # Tokyo opens at 09:00 JST on the 11th = 00:00 UTC on the 11th
    assert next_opening(w, TOKYO, instant) == utc(2026, 6, 11, 0, 0)


def test_days_of_week_use_the_local_date() -> None:
    w = window("09:00", "20:00", WEEKDAYS)
    # Saturday 2026-06-13 01:00 UTC is still Friday 21:00 in New York (closed: after 20:00)
    sat_utc = utc(2026, 6, 13, 1, 0)
    assert not is_open(w, NY, sat_utc)
    # next opening is Monday 09:00 EDT = 13:00 UTC
    assert next_opening(w, NY, sat_utc) == utc(2026, 6, 15, 13, 0)


def test_window_crossing_midnight_belongs_to_the_opening_day() -> None:
    w = window("20:00", "02:00", [Weekday.FRI])
    assert is_open(w, LONDON, local(LONDON, 2026, 6, 12, 20, 0))  # Friday evening
    assert is_open(w, LONDON, local(LONDON, 2026, 6, 13, 1, 59))  # Saturday small hours
    assert not is_open(w, LONDON, local(LONDON, 2026, 6, 13, 2, 0))
    assert not is_open(w, LONDON, local(LONDON, 2026, 6, 13, 20, 0))  # Saturday evening
    assert not is_open(w, LONDON, local(LONDON, 2026, 6, 12, 1, 0))  # Friday small hours
    # from Saturday 03:00 the next opening is the following Friday 20:00 BST
    assert next_opening(w, LONDON, local(LONDON, 2026, 6, 13, 3, 0)) == local(
        LONDON, 2026, 6, 19, 20, 0
    ).astimezone(UTC)


def test_spring_forward_gap_opens_when_the_wall_clock_passes_the_start() -> None:
    # 2026-03-08: New York jumps from 02:00 EST to 03:00 EDT; 02:30 does not exist.
    w = window("02:30", "05:00")
    before = local(NY, 2026, 3, 8, 1, 59)  # EST
    assert not is_open(w, NY, before)
    opening = next_opening(w, NY, before)
    assert opening == utc(2026, 3, 8, 7, 0)  # 03:00 EDT, the first instant after the gap
    assert opening.astimezone(NY).hour == 3
    assert is_open(w, NY, opening)


def test_spring_forward_shortens_the_day_not_the_window_rules() -> None:
    w = window("09:00", "20:00")
    # 09:00 EDT on the changeover day is 13:00 UTC (the day before it was 14:00 UTC)
    assert next_opening(w, NY, utc(2026, 3, 8, 5, 0)) == utc(2026, 3, 8, 13, 0)
    assert next_opening(w, NY, utc(2026, 3, 7, 5, 0)) == utc(2026, 3, 7, 14, 0)


def test_fall_back_repeated_hour_is_open_both_times_and_opens_at_first() -> None:
    # 2026-11-01: New York goes from 02:00 EDT back to 01:00 EST; 01:30 happens twice.
    w = window("01:30", "01:45")
    first = local(NY, 2026, 11, 1, 1, 30, fold=0)
    second = local(NY, 2026, 11, 1, 1, 30, fold=1)
    assert first.astimezone(UTC) == utc(2026, 11, 1, 5, 30)
    assert second.astimezone(UTC) == utc(2026, 11, 1, 6, 30)
    assert is_open(w, NY, first) and is_open(w, NY, second)
    assert not is_open(w, NY, utc(2026, 11, 1, 6, 0))  # 01:00 EST, between the two
    assert next_opening(w, NY, utc(2026, 11, 1, 4, 0)) == utc(2026, 11, 1, 5, 30)


def test_london_changes_on_a_different_date_than_new_york() -> None:
    w = window("09:00", "20:00")
    # 2026-03-29 London moves to BST: 09:00 local is 08:00 UTC; a week before it was 09:00.
    assert next_opening(w, LONDON, utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 8, 0)
    assert next_opening(w, LONDON, utc(2026, 3, 22, 0, 0)) == utc(2026, 3, 22, 9, 0)
    # the 01:00 -> 02:00 gap: a 01:30-03:00 window opens at 02:00 BST = 01:00 UTC
    gap = window("01:30", "03:00")
    assert next_opening(gap, LONDON, utc(2026, 3, 29, 0, 10)) == utc(2026, 3, 29, 1, 0)
    # autumn: 2026-10-25 01:00-02:00 repeats; a 01:15 start opens at the first 01:15 (BST)
    autumn = window("01:15", "01:30")
    assert next_opening(autumn, LONDON, utc(2026, 10, 24, 23, 0)) == utc(2026, 10, 25, 0, 15)


def test_window_lost_entirely_in_the_gap_moves_to_the_next_day() -> None:
    w = window("02:05", "02:50")  # 02:00-03:00 does not exist on 2026-03-08 in New York
    opening = next_opening(w, NY, utc(2026, 3, 8, 6, 0))
    assert opening == local(NY, 2026, 3, 9, 2, 5).astimezone(UTC)


def test_next_opening_is_now_when_open_and_never_earlier() -> None:
    w = window("09:00", "20:00", WEEKDAYS)
    now = utc(2026, 6, 10, 15, 0)
    assert next_opening(w, NY, now) == now
    for hour in range(24):
        probe = utc(2026, 6, 13, hour, 17)
        opening = next_opening(w, NY, probe)
        assert opening >= probe and is_open(w, NY, opening)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(window("09:00", "20:00"), NY, datetime(2026, 6, 10, 12, 0))


def test_local_day_start() -> None:
    assert local_day_start(NY, utc(2026, 6, 10, 3, 0)) == utc(2026, 6, 9, 4, 0)
    assert local_day_start(TOKYO, utc(2026, 6, 10, 16, 0)) == utc(2026, 6, 10, 15, 0)


def test_window_model_rejects_empty_windows() -> None:
    with pytest.raises(ValueError, match="equal"):
        window("09:00", "09:00")
    with pytest.raises(ValueError, match="never open"):
        CallingWindow(start=time(9), end=time(17), days=[])


LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # shifts by half an hour


def test_window_ending_less_than_a_gap_after_its_start_keeps_its_surviving_part() -> None:
    # 2026-03-08 New York: 02:00 EST -> 03:00 EDT. Of 02:30-03:30 only 03:00-03:30 exists.
    w = window("02:30", "03:30")
    assert next_opening(w, NY, utc(2026, 3, 8, 5, 0)) == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    assert is_open(w, NY, utc(2026, 3, 8, 7, 29))
    assert not is_open(w, NY, utc(2026, 3, 8, 7, 30))


def test_fall_back_second_occurrence_opens_after_the_first_has_passed() -> None:
    # 2026-11-01 New York: 02:00 EDT -> 01:00 EST; 01:00-02:00 happens twice.
    w = window("01:15", "01:45")
    after_first = utc(2026, 11, 1, 5, 50)  # 01:50 EDT: the first 01:15-01:45 is over
    assert next_opening(w, NY, after_first) == utc(2026, 11, 1, 6, 15)  # 01:15 EST


def test_fall_back_reopens_at_the_changeover_when_the_repeat_is_inside_the_window() -> None:
    # 00:30-01:30 closes at 01:30 EDT and is open again from 01:00 EST (06:00 UTC).
    w = window("00:30", "01:30")
    assert next_opening(w, NY, utc(2026, 11, 1, 5, 40)) == utc(2026, 11, 1, 6, 0)


def test_half_hour_spring_forward_opens_at_the_end_of_the_gap() -> None:
    # 2026-10-04 Lord Howe: 02:00 +10:30 -> 02:30 +11. Of 02:10-02:40 only 02:30-02:40 exists.
    w = window("02:10", "02:40")
    assert next_opening(w, LORD_HOWE, utc(2026, 10, 3, 13, 0)) == utc(2026, 10, 3, 15, 30)


def test_half_hour_fall_back_second_occurrence() -> None:
    # 2026-04-05 Lord Howe: 02:00 +11 -> 01:30 +10:30; 01:40 happens at 14:40 and 15:10 UTC.
    w = window("01:40", "01:50")
    assert next_opening(w, LORD_HOWE, utc(2026, 4, 4, 14, 55)) == utc(2026, 4, 4, 15, 10)
