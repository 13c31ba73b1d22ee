"""The wire contracts: one phone-number type, the job metadata, room and agent names."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from dialtone.wire import (
    PHONE_PATTERN,
    InboundJob,
    JobError,
    Phone,
    ReminderJob,
    normalize_phone,
    room_for,
)

ASCII_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
FULLWIDTH = str.maketrans("+0123456789", "＋０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


class Holder(BaseModel):
    phone: Phone


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("+1 (555) 123-4567", "+15551234567"),
        ("+1.555.123.4567", "+15551234567"),
        ("+15551234567", "+15551234567"),
        ("＋１５５５１２３４５６７", "+15551234567"),
        ("+١٥٥٥١٢٣٤٥٦٧", "+15551234567"),
        ("+1\u00a0555\u2013123\u20114567", "+15551234567"),  # no-break space, en dash
    ],
)
def test_typed_numbers_normalise_to_ascii(typed: str, canonical: str) -> None:
    assert normalize_phone(typed) == canonical
    assert Holder(phone=typed).phone == canonical


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("x+15551234567y", "must start with +"),
        ("+15551234567y", "'y' is not a digit"),
        ("+1555123456789012", "16 digits"),
        ("+1234567890123456789", "19 digits"),
        ("+12345", "5 digits"),
        ("+05551234567", "never starts with 0"),
        ("15551234567", "must start with +"),
        ("", "empty"),
        ("+1555123456７x", "'x' is not a digit"),
    ],
)
def test_anything_else_is_refused_with_the_reason(bad: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        normalize_phone(bad)
    with pytest.raises(ValidationError, match=r"is not an E\.164 number"):
        Holder(phone=bad)


def test_a_number_that_is_not_text_is_refused() -> None:
    with pytest.raises(ValidationError, match="write it as text"):
        Holder.model_validate({"phone": 15551234567})


def test_the_pattern_is_ascii_and_anchored() -> None:
    assert PHONE_PATTERN.pattern == ASCII_E164.pattern
    assert PHONE_PATTERN.search("x+15551234567y") is None


digits = st.text(alphabet="0123456789", min_size=6, max_size=14)
numbers = st.builds(lambda first, rest: f"+{first}{rest}", st.sampled_from("123456789"), digits)
separators = st.sampled_from([" ", "-", ".", "(", ")", "\u00a0", "\u2013", "\u3000"])


@given(numbers)
def test_fullwidth_and_arabic_indic_digits_are_the_same_number(number: str) -> None:
    assert normalize_phone(number.translate(FULLWIDTH)) == number
    assert normalize_phone(number.translate(ARABIC_INDIC)) == number


@given(numbers, st.lists(st.tuples(st.integers(min_value=1), separators), max_size=6))
def test_separators_anywhere_do_not_change_the_number(
    number: str, inserts: list[tuple[int, str]]
) -> None:
    typed = number
    for at, sep in inserts:
        cut = 1 + at % len(typed)
        typed = typed[:cut] + sep + typed[cut:]
    assert normalize_phone(typed) == number


@given(st.text(max_size=24))
def test_normalising_is_idempotent_and_canonical(text: str) -> None:
    try:
        once = normalize_phone(text)
    except ValueError:
        return
    assert ASCII_E164.fullmatch(once)
    assert once.isascii()
    assert normalize_phone(once) == once


def _no_digit(text: str) -> bool:
    return not any(ch.isdecimal() for ch in unicodedata.normalize("NFKC", text))


@given(numbers, st.text(min_size=1, max_size=3).filter(_no_digit))
def test_extra_text_around_a_number_is_refused(number: str, junk: str) -> None:
    for typed in (junk + number, number + junk):
        try:
            canonical = normalize_phone(typed)
        except ValueError:
            continue
        # only separators were added: the same number, nothing more
        assert canonical == number


# --- job metadata ---------------------------------------------------------------------

JOB = {
    "version": 1,
    "kind": "reminder",
    "attempt_id": "a" * 32,
    "attempt_number": 2,
    "campaign_id": "c" * 32,
    "contact_id": 7,
    "phone": "+15550200001",
    "name": "Ann",
    "timezone": "America/New_York",
    "persona": "reminder",
    "variables": {"appointment": "Tue 3pm", "count": 2, "ok": True},
    "outbound_trunk": "ST_trunk",
    "caller_id": "+15550100100",
    "callback_token": "s3cr3t",
}


def test_the_reminder_job_round_trips_through_its_model() -> None:
    job = ReminderJob.model_validate(JOB)
    raw = job.to_metadata()
    assert json.loads(raw) == JOB
    assert ReminderJob.from_metadata(raw) == job
    assert "s3cr3t" not in repr(job)


def test_the_reminder_job_refuses_numbers_that_only_contain_one() -> None:
    for field in ("phone", "caller_id"):
        with pytest.raises(JobError, match=field):
            ReminderJob.from_metadata(json.dumps({**JOB, field: "x+15551234567y"}))
        with pytest.raises(JobError, match=field):
            ReminderJob.from_metadata(json.dumps({**JOB, field: "+1234567890123456789"}))
    fullwidth = ReminderJob.from_metadata(
        json.dumps({**JOB, "phone": "+15550200001".translate(FULLWIDTH)})
    )
    assert fullwidth.phone == "+15550200001"


def test_the_inbound_job_round_trips_and_tolerates_bad_metadata(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert InboundJob.from_metadata(InboundJob(persona="salon").to_metadata()).persona == "salon"
    assert InboundJob().to_metadata() == ""
    assert InboundJob.from_metadata("").persona is None
    with caplog.at_level(logging.WARNING, logger="dialtone.wire"):
        for bad in ("not json", '{"persona": 3}', '["salon"]', '{"persona": ""}'):
            assert InboundJob.from_metadata(bad).persona is None
    assert len(caplog.records) == 4


def test_rooms_are_named_by_attempt() -> None:
    assert room_for("ab12") == "dt-attempt-ab12"


# --- every place a number enters uses the one type ------------------------------------


def _entry_points() -> list[tuple[str, Callable[[str], str]]]:
    from dialtone.campaigns.models import AdhocCall, CampaignSettings, ContactIn
    from dialtone.personas import TransferTarget
    from dialtone.trunkspec.model import DispatchRuleSpec, InboundTrunkSpec, OutboundTrunkSpec

    settings = {"name": "n", "persona": "p", "outbound_trunk": "ST_x", "caller_id": "+15550100100"}
    return [
        ("contact phone", lambda n: ContactIn(phone=n).phone),
        (
            "campaign caller id",
            lambda n: CampaignSettings.model_validate({**settings, "caller_id": n}).caller_id,
        ),
        (
            "ad-hoc caller id",
            lambda n: (
                AdhocCall.model_validate(
                    {
                        "contact": {"phone": "+15550200001"},
                        "persona": "p",
                        "outbound_trunk": "ST_x",
                        "caller_id": n,
                    }
                ).caller_id
            ),
        ),
        ("transfer target", lambda n: str(TransferTarget(name="d", phone=n, kind="cold").phone)),
        ("inbound trunk number", lambda n: InboundTrunkSpec(name="t", numbers=[n]).numbers[0]),
        (
            "inbound trunk caller",
            lambda n: InboundTrunkSpec(
                name="t", numbers=["+15550100100"], allowed_numbers=[n]
            ).allowed_numbers[0],
        ),
        (
            "outbound trunk number",
            lambda n: OutboundTrunkSpec(name="t", address="sip.x.com", numbers=[n]).numbers[0],
        ),
        ("rule number", lambda n: DispatchRuleSpec(name="r", agent="a", numbers=[n]).numbers[0]),
        ("rule caller", lambda n: DispatchRuleSpec(name="r", agent="a", callers=[n]).callers[0]),
        (
            "reminder job",
            lambda n: ReminderJob.from_metadata(json.dumps({**JOB, "phone": n})).phone,
        ),
    ]


@pytest.mark.parametrize(("where", "read"), _entry_points(), ids=[w for w, _ in _entry_points()])
def test_every_number_field_normalises_and_refuses_alike(
    where: str, read: Callable[[str], str]
) -> None:
    assert read("+1 (555) 123-4567".translate(FULLWIDTH)) == "+15551234567", where
    for bad in ("x+15551234567y", "+1234567890123456789"):
        with pytest.raises(ValueError, match=r"E\.164"):
            read(bad)
