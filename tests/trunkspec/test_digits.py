"""Every number in a trunk file is stored in ASCII: fullwidth or Arabic-Indic digits are
normalised (as the phone type does everywhere), so conflicts and PINs compare alike."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import BASE, Runner, Writer

FULLWIDTH = "＋１５５５０１００１０１"  # +15550100101
ARABIC_INDIC = "+١٥٥٥٠١٠٠١٩٩"  # +15550100199


def test_non_ascii_digits_in_trunk_and_rule_numbers_are_stored_canonical(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    text = BASE.replace('"+15550100101"', f'"{FULLWIDTH}"').replace(
        "    krisp: true\n", f'    krisp: true\n    allowed_numbers: ["{ARABIC_INDIC}"]\n'
    )
    text = text.replace(
        "    persona: receptionist\n",
        f'    persona: receptionist\n    callers: ["{ARABIC_INDIC}"]\n',
    )
    write(text)
    assert cli("validate").exit_code == 0
    result = cli("apply", "--yes")
    assert result.exit_code == 0, result.output
    (inbound,) = livekit_double.state.inbound_trunks.values()
    assert sorted(inbound.numbers) == ["+15550100100", "+15550100101"]
    assert list(inbound.allowed_numbers) == ["+15550100199"]
    (rule,) = livekit_double.state.dispatch_rules.values()
    assert list(rule.inbound_numbers) == ["+15550100199"]
    assert cli("plan").exit_code == 0  # converged: the files compare equal to the server


def test_the_same_number_in_two_scripts_is_one_number(write: Writer, cli: Runner) -> None:
    text = BASE.replace('"+15550100101"', '"＋１５５５０１００１００"')
    write(text)
    result = cli("validate")
    assert result.exit_code == 1
    assert "inbound_trunks[0].numbers: number '+15550100100' is listed twice" in result.stderr


@pytest.mark.parametrize(
    ("written", "env"),
    [('"４３２１"', None), ("${MAIN_LINE_PIN}", "٤٣٢١")],
    ids=["fullwidth-literal", "arabic-indic-from-env"],
)
def test_pin_in_other_digits_is_sent_in_ascii(
    write: Writer,
    cli: Runner,
    livekit_double: Any,
    monkeypatch: pytest.MonkeyPatch,
    written: str,
    env: str | None,
) -> None:
    if env is not None:
        monkeypatch.setenv("MAIN_LINE_PIN", env)
    write(BASE.replace("agent: receptionist", f"pin: {written}\n    agent: receptionist"))
    result = cli("apply", "--yes")
    assert result.exit_code == 0, result.output
    (rule,) = livekit_double.state.dispatch_rules.values()
    assert rule.rule.dispatch_rule_individual.pin == "4321"


def test_pin_of_digit_like_symbols_is_refused(
    write: Writer, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIN_LINE_PIN", "²³")  # str.isdigit() says yes; not decimal digits
    write(BASE.replace("agent: receptionist", "pin: ${MAIN_LINE_PIN}\n    agent: receptionist"))
    result = cli("validate")
    assert result.exit_code == 1
    assert "environment variable MAIN_LINE_PIN must hold digits" in result.stderr


def test_duration_in_fullwidth_digits_is_read(write: Writer, cli: Runner) -> None:
    write(BASE.replace("ringing_timeout: 30s", 'ringing_timeout: "３０s"'))
    assert cli("validate").exit_code == 0
