"""A call screener answered: say who is calling and why, then deal with whoever follows.

Google's Call Screen and Apple's screening answer for the person and ask the caller's
name and reason; the person reads or hears it and picks up, or declines (the screener
hangs up, or hands the call to the mailbox). So the agent answers in one sentence
(the persona's `reminder.screening`), waits for the screener to finish first, and
then listens again:

- a person ("hello?") gets the reminder, as on any answered call;
- a mailbox gets the voicemail message after its beep;
- a hang-up, silence, or a phone menu ends the attempt without a message.

The voicemail script is never spoken into the screener: it is said only after a
later round has heard a mailbox. Every outcome's detail starts with "screened" so an
operator can count screened calls and what came of them.
"""

from __future__ import annotations

from ..campaigns.models import Outcome
from .answering import AnswerClass
from .conversation import GREETING_SETTLE_S, AnswerHooks, Conversation
from .dial import ReportedOutcome

#: Screener lines heard after our answer ("please stay on the line") before giving up.
MAX_SCREENER_LINES = 3
SCREENED = "screened"


def _screened(result: ReportedOutcome, how: str) -> ReportedOutcome:
    return ReportedOutcome(result.outcome, f"{SCREENED}, {how}: {result.detail}")


async def after_screener(agent: Conversation, hooks: AnswerHooks) -> ReportedOutcome:
    """The screening path (see the module docstring)."""
    await hooks.quiet()
    await agent.answer_screener()
    for _ in range(MAX_SCREENER_LINES):
        verdict = await hooks.listen()
        answer = verdict.answer
        if answer is AnswerClass.SCREENING:
            continue  # the screener again ("please stay on the line"): keep listening
        if answer is AnswerClass.VOICEMAIL:
            if verdict.unavailable:
                return ReportedOutcome(
                    Outcome.VOICEMAIL, f"{SCREENED}, then a mailbox that takes no messages"
                )
            heard = await hooks.beep()
            await agent.leave_voicemail()
            how = "after the beep" if heard else "no beep heard; after the greeting"
            return ReportedOutcome(
                Outcome.VOICEMAIL, f"{SCREENED}, then voicemail: message left ({how})"
            )
        if answer is AnswerClass.IVR:
            return ReportedOutcome(
                Outcome.NO_ANSWER, f"{SCREENED}, then a phone menu; nothing left"
            )
        if answer is AnswerClass.UNSURE:
            what = "the screener hung up" if verdict.by == "hung up" else "nobody came on the line"
            return ReportedOutcome(Outcome.NO_ANSWER, f"{SCREENED}: {what}")
        if not verdict.transcript.strip():  # their words may still be on their way
            await agent.greeting_settled(GREETING_SETTLE_S)
        agent.deliver()
        await hooks.conversation()
        return _screened(agent.result(), "then the person picked up")
    return ReportedOutcome(Outcome.NO_ANSWER, f"{SCREENED}: the screener never put us through")
