"""`after_answer` reports whether a person who answered was abandoned (no agent speech
within 2 s of the verdict), on an injected clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from dialtone.campaigns.models import Outcome
from dialtone.outbound.answering import AnswerClass, Verdict
from dialtone.outbound.attempt import ABANDON_AFTER_S, after_answer
from dialtone.outbound.conversation import AnswerHooks
from dialtone.outbound.dial import ReportedOutcome


class Person:
    """The agent's side as `after_answer` sees it; its voice starts `delay` s after deliver."""

    def __init__(self, clock: list[float], delay: float | None) -> None:
        self.clock = clock
        self.delay = delay
        self.spoke_at: float | None = None

    async def leave_voicemail(self) -> None:
        raise AssertionError("a person gets no voicemail")

    async def greeting_settled(self, seconds: float) -> None:
        return None

    def deliver(self) -> None:  # type: ignore[override]
        if self.delay is not None:
            self.spoke_at = self.clock[0] + self.delay

    def result(self) -> ReportedOutcome:
        return ReportedOutcome(Outcome.COMPLETED, "confirmed")


def hooks(conversation: Callable[[], Awaitable[None]]) -> AnswerHooks:
    """The line as `after_answer` sees it: only the conversation matters here."""

    async def beep() -> bool:
        return True

    async def listen() -> Verdict:
        raise AssertionError("nobody listens again after a verdict of person or mailbox")

    async def quiet() -> None:
        return None

    return AnswerHooks(beep=beep, conversation=conversation, listen=listen, quiet=quiet)


@pytest.mark.parametrize(
    ("delay", "abandoned"),
    [(0.4, False), (ABANDON_AFTER_S, False), (ABANDON_AFTER_S + 0.01, True), (None, True)],
)
async def test_a_person_who_hears_nothing_within_2_s_was_abandoned(
    delay: float | None, abandoned: bool
) -> None:
    now = [100.0]
    agent = Person(now, delay)

    async def conversation() -> None:
        now[0] += 30  # the call goes on; only the first speech counts

    person = Verdict(answer=AnswerClass.HUMAN, by="phrases")
    result = await after_answer(agent, person, hooks(conversation), clock=lambda: now[0])  # type: ignore[arg-type]
    assert result == ReportedOutcome(Outcome.COMPLETED, "confirmed")
    assert result.abandoned is abandoned


async def test_a_machine_is_not_counted() -> None:
    class Machine(Person):
        async def leave_voicemail(self) -> None:
            return None

    async def conversation() -> None:
        return None

    mailbox = Verdict(answer=AnswerClass.VOICEMAIL, by="beep")
    result = await after_answer(Machine([0.0], None), mailbox, hooks(conversation))  # type: ignore[arg-type]
    assert result.outcome is Outcome.VOICEMAIL and result.abandoned is None
