"""Times in the clinic's zone, and the codes in words."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialtone.config import ConfigError, load_settings
from dialtone.console_web.rendering import environment
from dialtone.console_web.words import days_text, say


def test_times_are_shown_in_the_deployment_zone() -> None:
    template = environment.from_string("{{ t|when }}")
    at = datetime(2026, 6, 10, 13, 5, tzinfo=UTC)
    assert template.render(t=at, zone=ZoneInfo("America/New_York")) == "2026-06-10 09:05 EDT"
    assert template.render(t=at, zone=ZoneInfo("UTC")) == "2026-06-10 13:05 UTC"


def test_a_zone_that_does_not_exist_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"DIALTONE_TIMEZONE: .*IANA"):
        load_settings(console_timezone="Mars/Olympus")


def test_codes_read_as_words() -> None:
    assert say("abandoned", "outcome") == "Caller hung up before an answer"
    assert say("take_message", "tool") == "Took a message"
    assert say("retry_wait", "contact") == "Will try again"
    assert say("something_new", "outcome") == "Something new"
    assert days_text(["mon", "tue", "wed", "thu", "fri"]) == "Mon–Fri"
    assert days_text(["sat", "mon"]) == "Mon, Sat"
    assert days_text(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) == "every day"
