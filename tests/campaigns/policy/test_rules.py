"""The calling rules as data: the shipped floor, a deployer's file on top, one-line errors."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from dialtone.campaigns.models import CallingWindow, Weekday
from dialtone.campaigns.policy.rules import load_rules, window_notices
from dialtone.config import ConfigError


def test_the_shipped_rules_hold_the_legal_floor() -> None:
    rules = load_rules()
    us, fl = rules.regions["US"], rules.regions["US-FL"]
    assert (us.hours[0].start, us.hours[0].end) == (time(8), time(21))
    assert (fl.hours[0].start, fl.hours[0].end, fl.max_calls_24h) == (time(8), time(20), 3)
    assert rules.regions["US-OK"].max_calls_24h == 3
    assert us.holidays and rules.regions["GB"].holidays
    assert rules.abandoned_max_rate == 0.03
    assert all(entry.source for entry in rules.regions.values())


def test_a_deployer_file_adds_closures_and_replaces_caps(tmp_path: Path) -> None:
    mine = tmp_path / "rules.yaml"
    mine.write_text(
        "closures:\n  - {date: 2026-12-24, reason: closed, regions: [US]}\n"
        "per_number: {per_day: 1, per_week: 2, min_gap_minutes: 60}\n"
        "regions:\n  US-TX:\n    source: counsel\n    hours: [{start: '09:00', end: '20:00'}]\n"
    )
    rules = load_rules(mine)
    assert rules.closure_days("US", "NY") == {date(2026, 12, 24): "closed"}
    assert rules.closure_days("GB", None) == {}
    assert rules.per_number.per_day == 1
    assert [key for key, _ in rules.applicable("US", "TX")] == ["US", "US-TX"]
    assert "US-FL" in rules.regions  # the shipped entries stay


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("per_number: {per_day: 0}\n", "per_number.per_day"),
        ("regions:\n  Florida: {source: x}\n", "regions"),
        ("closures:\n  - {date: 2026-02-30, reason: x}\n", ":2:12: cannot read this timestamp"),
        (
            "regions:\n  US-FL: {source: x, hours: [{start: '20:00', end: '08:00'}]}\n",
            "regions.US-FL.hours.0",
        ),
        ("holiday: true\n", "holiday: not a calling-rules field"),
        ("per_number: {per_day: 5, per_week: 2}\n", "per_number"),
    ],
)
def test_a_bad_rules_file_is_one_line_naming_the_field(
    tmp_path: Path, text: str, where: str
) -> None:
    mine = tmp_path / "rules.yaml"
    mine.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_rules(mine)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(mine))
    assert where in message


def test_a_window_wider_than_the_law_is_said_once_per_region() -> None:
    rules = load_rules()
    wide = CallingWindow(start=time(7), end=time(22, 30), days=list(Weekday))
    notes = window_notices(wide, [("US", "NY"), ("US", "FL"), ("US", "CA")], rules)
    assert len(notes) == 2
    assert "US (08:00-21:00" in notes[0] and "US-FL (08:00-20:00" in notes[1]
    narrow = CallingWindow(start=time(9), end=time(17), days=list(Weekday))
    assert window_notices(narrow, [("US", "FL")], rules) == []
