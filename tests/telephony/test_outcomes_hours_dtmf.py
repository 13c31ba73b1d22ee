"""Pure parts of call control: SIP status → outcome, persona hours, caller keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from livekit.api.twirp_client import ServerError, SipCallError
from pydantic import ValidationError

from dialtone.hours import HoursError, parse_hours
from dialtone.personas import TransferTarget
from dialtone.telephony.dtmf import DigitBuffer, target_for_digits
from dialtone.telephony.outcomes import (
    TransferOutcome,
    outcome_for_error,
    outcome_for_sip_status,
)
from dialtone.telephony.transfer import looks_like_voicemail

Out = TransferOutcome


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (486, Out.BUSY),
        (600, Out.BUSY),
        (603, Out.DECLINED),
        (607, Out.DECLINED),
        (480, Out.NO_ANSWER),
        (408, Out.NO_ANSWER),
        (487, Out.NO_ANSWER),
        (404, Out.TRUNK_FAILURE),
        (403, Out.TRUNK_FAILURE),
        (503, Out.TRUNK_FAILURE),
        (None, Out.TRUNK_FAILURE),
    ],
)
def test_sip_status_decides_the_outcome(code: int | None, outcome: TransferOutcome) -> None:
    assert outcome_for_sip_status(code) is outcome


def test_errors_map_by_sip_code_not_twirp_code() -> None:
    # 603 arrives as permission_denied, like a real auth problem; the SIP code decides.
    declined = SipCallError(
        "permission_denied",
        "x",
        status=403,
        metadata={"sip_status_code": "603", "sip_status": "Decline"},
    )
    assert outcome_for_error(declined) == (Out.DECLINED, 603, "Decline")
    ring_out = ServerError("canceled", "sip request timed out", status=408)
    assert outcome_for_error(ring_out)[0] is Out.NO_ANSWER
    assert outcome_for_error(TimeoutError())[0] is Out.NO_ANSWER
    auth = ServerError("unauthenticated", "bad token", status=401)
    assert outcome_for_error(auth)[0] is Out.TRUNK_FAILURE
    assert Out.TRUNK_FAILURE.is_incident and not Out.DECLINED.is_incident


NY = "Mon-Fri 08:00-17:00 America/New_York"


@pytest.mark.parametrize(
    ("utc", "is_open"),
    [
        # Winter (EST, UTC-5): 08:00 local = 13:00 UTC.
        (datetime(2026, 1, 5, 12, 59, tzinfo=UTC), False),
        (datetime(2026, 1, 5, 13, 0, tzinfo=UTC), True),
        (datetime(2026, 1, 5, 21, 59, tzinfo=UTC), True),
        (datetime(2026, 1, 5, 22, 0, tzinfo=UTC), False),
        # Summer (EDT, UTC-4): 08:00 local = 12:00 UTC. A fixed offset would get this wrong.
        (datetime(2026, 7, 6, 12, 0, tzinfo=UTC), True),
        (datetime(2026, 7, 6, 11, 59, tzinfo=UTC), False),
        (datetime(2026, 7, 6, 21, 0, tzinfo=UTC), False),
        # Saturday.
        (datetime(2026, 7, 4, 15, 0, tzinfo=UTC), False),
    ],
)
def test_hours_are_wall_clock_in_the_zone(utc: datetime, is_open: bool) -> None:
    assert parse_hours(NY).is_open(utc) is is_open


def test_hours_on_the_dst_change_day() -> None:
    hours = parse_hours(NY)
    # Sunday 8 March 2026 clocks go forward; Monday 9 March 08:00 EDT = 12:00 UTC.
    assert hours.is_open(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 3, 9, 11, 30, tzinfo=UTC))


def test_callback_phrase() -> None:
    hours = parse_hours("Mon-Fri 08:00-17:00; Sat 09:30-12:00 Europe/London")
    friday_evening = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)
    assert hours.callback_phrase(friday_evening) == "tomorrow after 9:30 AM"
    saturday_noon = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)
    assert hours.callback_phrase(saturday_noon) == "on Monday after 8 AM"
    early_monday = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert hours.callback_phrase(early_monday) == "today after 8 AM"


@pytest.mark.parametrize(
    "text",
    [
        "Mon-Fri 08:00-17:00",
        "Mon-Fri 08:00-17:00 Mars/Olympus",
        "Funday 08:00-17:00 UTC",
        "Mon 17:00-08:00 UTC",
        "Mon 8-17 UTC",
    ],
)
def test_bad_hours_are_refused(text: str) -> None:
    with pytest.raises(HoursError):
        parse_hours(text)


def test_persona_target_validates_hours_extension_and_dtmf() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        TransferTarget(
            name="x", phone="+15550100111", outbound_trunk="t", hours="Mon-Fri 08:00-17:00"
        )
    with pytest.raises(ValidationError, match="extension"):
        TransferTarget(name="x", phone="+15550100111", outbound_trunk="t", extension="12a")
    with pytest.raises(ValidationError, match="dtmf"):
        TransferTarget(name="x", phone="+15550100111", outbound_trunk="t", dtmf="12;")
    ok = TransferTarget(
        name="x", phone="+15550100111", outbound_trunk="t", extension="12", dtmf="ww3#"
    )
    assert ok.kind == "warm"


TARGETS = [
    TransferTarget(name="front desk", phone="+15550100111", outbound_trunk="t"),
    TransferTarget(name="billing", phone="+15550100112", outbound_trunk="t", extension="12"),
]


def test_digits_choose_a_target() -> None:
    assert target_for_digits("0", TARGETS) is TARGETS[0]
    assert target_for_digits("12#", TARGETS) is TARGETS[1]
    assert target_for_digits("9", TARGETS) is None
    assert target_for_digits("0", []) is None


def test_digit_buffer_collects_an_extension() -> None:
    keys = DigitBuffer(TARGETS)
    assert keys.press("1") is None
    assert keys.press("2") is TARGETS[1]
    assert keys.press("0") is TARGETS[0]
    assert keys.press("9") is None
    assert keys.press("#") is None  # "9" then "#": nothing, and the entry resets
    assert keys.press("1") is None and keys.press("*") is None and keys.press("0") is TARGETS[0]


def test_voicemail_greetings() -> None:
    assert looks_like_voicemail("Please leave a message after the beep")
    assert looks_like_voicemail("You have reached the voicemail of Dr Lee")
    assert not looks_like_voicemail("Front desk, this is Maria")
    assert not looks_like_voicemail(None)
