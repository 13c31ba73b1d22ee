"""Campaign validation: E.164, zones, the toll-fraud guard, per-row errors."""

from __future__ import annotations

from typing import Any

import pytest

from dialtone.campaigns.models import (
    DestinationPolicy,
    Outcome,
    RetryPolicy,
    SpecError,
    parse_campaign,
)
from dialtone.config import ConfigError, load_settings
from dialtone.wire import normalize_phone

US = DestinationPolicy(("1",))

BASE: dict[str, Any] = {
    "name": "Flu shots",
    "persona": "reminder",
    "outbound_trunk": "ST_abc",
    "caller_id": "+15550100100",
}


def rows(*contacts: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i + 1, c) for i, c in enumerate(contacts)]


def test_phone_separators_are_dropped_but_e164_is_required() -> None:
    assert normalize_phone(" +1 (555) 010-0100 ") == "+15550100100"
    for bad in ("5550100100", "+0123456", "+1555abc0100", "+1234567890123456", ""):
        with pytest.raises(ValueError, match=r"E\.164"):
            normalize_phone(bad)


@pytest.mark.parametrize(
    ("phone", "needle"),
    [
        ("+19005551234", "premium"),
        ("+19765551234", "premium"),
        ("+448712345678", "special-rate"),
        ("+449098765432", "premium"),
        ("+8821234567", "international networks"),
        ("+8831234567", "international networks"),
        ("+18765551234", "NANP area code 876"),
        ("+442071234567", "outside the allowed country calling codes"),
    ],
)
def test_toll_fraud_guard_refuses_with_a_clear_reason(phone: str, needle: str) -> None:
    reason = US.refusal(phone)
    assert reason is not None and needle in reason


def test_allowed_destinations() -> None:
    assert US.refusal("+15550100100") is None
    assert US.refusal("+17875550100") is None  # Puerto Rico is domestic
    assert DestinationPolicy(("1", "1876")).refusal("+18765551234") is None
    assert DestinationPolicy(("1", "44")).refusal("+442071234567") is None
    # premium stays refused even when the country is allowed
    assert DestinationPolicy(("1", "44")).refusal("+449098765432") is not None


def test_every_bad_row_is_reported_with_row_and_field() -> None:
    with pytest.raises(SpecError) as caught:
        parse_campaign(
            BASE,
            rows(
                {"phone": "+15550100001", "name": "Ann", "timezone": "America/New_York"},
                {"phone": "555-0100", "name": "Bob"},
                {"phone": "+15550100003", "timezone": "Mars/Olympus"},
                {"phone": "+19005550100"},
                {"phone": "+15550100001", "name": "Ann again"},
                {"phone": "+15550100006", "variables": {"bad key": "x"}},
                {"phone": "+15550100007", "shoe_size": 9},
            ),
            US,
        )
    found = {(e.row, e.field) for e in caught.value.errors}
    assert found == {
        (2, "phone"),
        (3, "timezone"),
        (4, "phone"),
        (5, "phone"),
        (6, "variables"),
        (7, "shoe_size"),
    }
    reasons = {e.row: e.reason for e in caught.value.errors}
    assert "already row 1" in reasons[5]
    assert "IANA" in reasons[3]
    assert "premium" in reasons[4]


def test_campaign_field_errors_have_no_row() -> None:
    with pytest.raises(SpecError) as caught:
        parse_campaign(
            {**BASE, "caller_id": "nope", "window": {"start": "09:00", "end": "09:00"}},
            rows({"phone": "+15550100001"}),
            US,
        )
    fields = {(e.row, e.field) for e in caught.value.errors}
    assert (None, "caller_id") in fields and (None, "window") in fields


def test_valid_campaign_parses() -> None:
    settings, contacts = parse_campaign(
        {**BASE, "window": {"start": "20:00", "end": "02:00", "days": ["fri"]}},
        rows({"phone": "+1 555 010 0001", "variables": {"appointment": "Tue 3pm"}}),
        US,
    )
    assert contacts[0].phone == "+15550100001"
    assert settings.window.day_indexes == frozenset({4})


def test_retry_policy_defaults_and_final_outcomes() -> None:
    policy = RetryPolicy(delays={Outcome.BUSY: 120, Outcome.VOICEMAIL: None})
    assert policy.delay_after(Outcome.BUSY) == 120
    assert policy.delay_after(Outcome.VOICEMAIL) is None
    assert policy.delay_after(Outcome.NO_ANSWER) == 3600
    assert policy.delay_after(Outcome.COMPLETED) is None
    with pytest.raises(ValueError, match="final"):
        RetryPolicy(delays={Outcome.COMPLETED: 60})
    with pytest.raises(ValueError, match="60 seconds"):
        RetryPolicy(delays={Outcome.BUSY: 5})


def test_settings_country_codes(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIALTONE_ALLOWED_COUNTRY_CODES", " +1, 44 ,1876")
    assert load_settings().country_codes == ("1", "44", "1876")
    monkeypatch.setenv("DIALTONE_ALLOWED_COUNTRY_CODES", "1,abc")
    with pytest.raises(ConfigError, match="DIALTONE_ALLOWED_COUNTRY_CODES"):
        load_settings()
    monkeypatch.setenv("DIALTONE_ALLOWED_COUNTRY_CODES", "1")
    monkeypatch.setenv("DIALTONE_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError, match="DIALTONE_DATABASE_URL"):
        load_settings()


def test_a_window_hour_without_its_leading_zero_is_read() -> None:
    from datetime import time

    from dialtone.campaigns.models import CallingWindow

    window = CallingWindow.model_validate({"start": "9:00", "end": "17:30"})
    assert (window.start, window.end) == (time(9), time(17, 30))
    with pytest.raises(ValueError, match=r"write HH:MM, e.g. 09:00"):
        CallingWindow.model_validate({"start": "9am"})
