"""A call screener answered: one sentence, then whoever follows; never the voicemail."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from dialtone.campaigns.models import Outcome
from dialtone.outbound.answering import AnswerClass, Verdict
from dialtone.outbound.attempt import after_answer
from dialtone.outbound.conversation import AnswerHooks
from dialtone.outbound.dial import ReportedOutcome

SCREENER = Verdict(answer=AnswerClass.SCREENING, by="phrases", transcript="say your name")


class FakeAgent:
    """Notes what the agent did on the line, in order."""

    def __init__(self) -> None:
        self.did: list[str] = []

    async def leave_voicemail(self) -> None:
        self.did.append("voicemail")

    async def answer_screener(self) -> None:
        self.did.append("screener answer")

    async def greeting_settled(self, seconds: float) -> None:
        self.did.append("settled")

    def deliver(self) -> None:  # type: ignore[override]
        self.did.append("reminder")

    def result(self) -> ReportedOutcome:
        return ReportedOutcome(Outcome.COMPLETED, "confirmed")


def hooks_for(agent: FakeAgent, followers: Iterable[Verdict]) -> AnswerHooks:
    queue = list(followers)

    async def beep() -> bool:
        agent.did.append("beep")
        return True

    async def conversation() -> None:
        agent.did.append("conversation")

    async def listen() -> Verdict:
        agent.did.append("listen")
        return queue.pop(0) if queue else Verdict(answer=AnswerClass.UNSURE, by="silence")

    async def quiet() -> None:
        agent.did.append("quiet")

    return AnswerHooks(beep=beep, conversation=conversation, listen=listen, quiet=quiet)


def verdict(answer: AnswerClass, by: str = "phrases") -> Verdict:
    return Verdict(answer=answer, by=by)


async def screened(*followers: Verdict) -> tuple[ReportedOutcome, list[str]]:
    agent = FakeAgent()
    result = await after_answer(agent, SCREENER, hooks_for(agent, followers))  # type: ignore[arg-type]
    return result, agent.did


async def test_the_person_picks_up_after_the_screener() -> None:
    result, did = await screened(verdict(AnswerClass.HUMAN, "amd:speech_then_quiet"))
    assert did == ["quiet", "screener answer", "listen", "settled", "reminder", "conversation"]
    assert result == ReportedOutcome(
        Outcome.COMPLETED, "screened, then the person picked up: confirmed"
    )


async def test_the_screener_hangs_up() -> None:
    result, did = await screened(Verdict(answer=AnswerClass.UNSURE, by="hung up"))
    assert "voicemail" not in did and "reminder" not in did
    assert result == ReportedOutcome(Outcome.NO_ANSWER, "screened: the screener hung up")


async def test_the_screener_sends_the_call_to_the_mailbox() -> None:
    result, did = await screened(verdict(AnswerClass.VOICEMAIL))
    assert did == ["quiet", "screener answer", "listen", "beep", "voicemail"]
    assert result.outcome is Outcome.VOICEMAIL
    assert result.detail == "screened, then voicemail: message left (after the beep)"


async def test_more_screener_lines_are_waited_through() -> None:
    result, did = await screened(verdict(AnswerClass.SCREENING), verdict(AnswerClass.HUMAN))
    assert did.count("screener answer") == 1  # said once, not again at "please hold"
    assert did[-2:] == ["reminder", "conversation"]
    assert result.outcome is Outcome.COMPLETED


async def test_a_screener_that_never_puts_us_through() -> None:
    result, did = await screened(*[verdict(AnswerClass.SCREENING)] * 5)
    assert "voicemail" not in did and "reminder" not in did
    assert result == ReportedOutcome(
        Outcome.NO_ANSWER, "screened: the screener never put us through"
    )


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [(AnswerClass.IVR, Outcome.NO_ANSWER), (AnswerClass.UNSURE, Outcome.NO_ANSWER)],
)
async def test_nothing_is_left_with_a_menu_or_silence_after_a_screener(
    answer: AnswerClass, outcome: Outcome
) -> None:
    result, did = await screened(verdict(answer, "silence"))
    assert "voicemail" not in did and "reminder" not in did
    assert result.outcome is outcome and result.detail.startswith("screened")
