"""What the human's answer means, the brief's template and the consult room's name."""

from __future__ import annotations

import pytest

from dialtone.telephony.consult import (
    ConsultReply,
    consult_room_name,
    reply_from_key,
    reply_from_words,
    spoken_number,
    template_brief,
)


@pytest.mark.parametrize(
    "words",
    ["yes, put them through", "Yeah sure", "okay go ahead", "I'll take it", "put her through"],
)
def test_acceptances(words: str) -> None:
    assert reply_from_words(words) is ConsultReply.ACCEPT


@pytest.mark.parametrize(
    "words",
    [
        "no, I can't take it",
        "not right now",
        "I'm busy, take a message",
        "yes but I cannot right now",  # a refusal wins over a yes in the same answer
        "nope",
    ],
)
def test_refusals(words: str) -> None:
    assert reply_from_words(words) is ConsultReply.DECLINE


@pytest.mark.parametrize("words", [None, "", "who is this", "hello?"])
def test_anything_else_is_unclear(words: str | None) -> None:
    assert reply_from_words(words) is ConsultReply.UNCLEAR


def test_keys() -> None:
    assert reply_from_key("1") is ConsultReply.ACCEPT
    assert reply_from_key("2") is ConsultReply.DECLINE
    assert reply_from_key("5") is ConsultReply.UNCLEAR


def test_numbers_are_read_digit_by_digit() -> None:
    assert spoken_number("+15551230000") == "1, 5 5 5, 1 2 3, 0 0 0 0"
    assert spoken_number("+442071838750") == "4 4 2, 0 7 1, 8 3 8, 7 5 0"


def test_template_brief_names_caller_reason_and_asks() -> None:
    brief = template_brief(
        target="front desk",
        business="Maple Street Dental",
        caller_number="+15551230000",
        reason="a refill.",
        said=["I need my prescription refilled"],
    )
    assert "front desk" in brief and "1, 5 5 5" in brief and "about a refill" in brief
    assert '"I need my prescription refilled."' in brief
    assert "yes or no" in brief and "press 1 or 2" in brief
    assert "connected" not in brief  # nobody is connected yet when the human hears it


def test_template_brief_without_a_number_or_reason() -> None:
    brief = template_brief(target="billing", business="X", caller_number=None, reason="")
    assert "a caller, about a question" in brief


def test_consult_room_is_derived_from_the_call_room() -> None:
    assert consult_room_name("call-7") == "call-7-consult"
