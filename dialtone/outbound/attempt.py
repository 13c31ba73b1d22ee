"""One reminder attempt, start to report, whatever agent holds the conversation.

`run_attempt` is the whole life of an attempt, in this order, each step able to end it:

1. a contact missing a template variable of the persona is not called;
2. ask the campaign API for the dial permit, bound to this job (DNC, window and pause
   are re-checked there at true dial time); no permit, no call. Its answer says until
   when the outcome report is retried (the attempt's deadline);
3. dial with `CreateSIPParticipant` (wait until answered, ringing timeout, max call
   duration, the campaign's trunk and caller id); a failure maps to an outcome from
   its SIP status (`telephony/sip_status.py`), and trunk/auth/codec failures pause the
   campaign with a reason instead of burning the list;
4. answered: the `converse` step decides who answered (a person, a mailbox, a call
   screener, a phone menu: `answering.py`) and talks (`after_answer`);
5. hang up (the room is deleted, whatever happened), then report the outcome with the
   attempt's token, retried with backoff until the attempt's deadline. An agent that
   dies before reporting is caught by the store: at the deadline the attempt is settled
   from its call record (SIP result, answered or not), else `unknown`, and retried.

An opt-out does not wait for step 5: the agent lists the number as do-not-call the
moment it hears it (`OptOutHook`, `CampaignCallback.opt_out`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol, runtime_checkable

from livekit.agents import Agent

from ..call.control import CallControl, Transfers
from ..campaigns.models import Outcome
from ..personas import Persona, ReminderScript
from ..telephony.outcomes import TransferResult
from ..wire import ReminderJob, room_for
from .answering import AnswerClass, Verdict
from .callback import CallbackError, CampaignCallback
from .conversation import GREETING_SETTLE_S, AnswerHooks, Conversation
from .dial import CallPlan, ReportedOutcome, SipDialApi, campaign_outcome, dial
from .ivr import through_menu
from .job import missing_values
from .screening import after_screener

logger = logging.getLogger("dialtone.reminder")

Converse = Callable[[], Awaitable[ReportedOutcome]]
#: A person who hears nothing from the agent this long after answering was abandoned
#: (Ofcom's 2 seconds; counted per campaign, see `campaigns.policy`).
ABANDON_AFTER_S = 2.0
HangUp = Callable[[], Awaitable[None]]


@runtime_checkable
class ReminderConversation(Conversation, Protocol):
    """The reminder agent as the entrypoint drives it: when it ended, what it handed over."""

    script: ReminderScript
    ended: asyncio.Event
    transfer_results: list[TransferResult]

    def on_caller_key(self, key: str) -> None:
        """A DTMF key from the callee (the opt-out key opts out)."""


@runtime_checkable
class OptOutHook(Protocol):
    """An agent that tells the entrypoint the moment the callee opts out."""

    #: called with the evidence (the words heard, the key pressed)
    on_opt_out: Callable[[str], Awaitable[object]] | None


#: An agent program's factory: the Agent that talks to whoever answers one attempt.
MakeReminder = Callable[[ReminderJob, Persona, CallControl, Transfers | None], Agent]


def plan_for(job: ReminderJob, persona: Persona) -> CallPlan:
    return CallPlan(
        trunk=job.outbound_trunk,
        call_to=job.phone,
        caller_id=job.caller_id,
        room=room_for(job.attempt_id),
        ring_seconds=persona.reminder.ring_seconds,
        max_call_seconds=persona.reminder.max_call_seconds,
        name=job.name,
    )


async def report(callback: CampaignCallback, result: ReportedOutcome) -> bool:
    """Report with the callback's retries; False if it could not (the lease catches it)."""
    try:
        await callback.report(result.outcome, result.detail, result.pause_reason, result.abandoned)
    except CallbackError as exc:
        logger.error("attempt %s: outcome not reported: %s", callback.attempt_id, exc)
        return False
    logger.info(
        "attempt %s ended: %s (%s)",
        callback.attempt_id,
        result.outcome.value,
        result.detail,
        extra={"attempt_id": callback.attempt_id, "outcome": result.outcome.value},
    )
    return True


async def run_attempt(
    job: ReminderJob,
    persona: Persona,
    callback: CampaignCallback,
    sip: SipDialApi,
    converse: Converse,
    hang_up: HangUp,
) -> ReportedOutcome | None:
    """One attempt, start to report (see the module docstring). None: no call placed."""
    missing = missing_values(job, persona)
    if missing:
        result = ReportedOutcome(
            Outcome.FAILED,
            f"not called: the contact has no {', '.join(missing)} for persona {persona.name}",
        )
        await report(callback, result)
        return result
    try:
        permit = await callback.dial_permit()
    except CallbackError as exc:
        logger.error("attempt %s: no dial permit, not calling: %s", job.attempt_id, exc)
        return None
    if not permit.allowed:
        logger.info("attempt %s: not calling: %s", job.attempt_id, permit.reason)
        return None
    plan = plan_for(job, persona)
    try:
        failure = await dial(sip, plan)
        if failure is not None:
            result = campaign_outcome(failure, plan.trunk)
        else:
            try:
                result = await converse()
            except Exception as exc:  # the person was reached; say so, and how it broke
                logger.exception("attempt %s: the conversation failed", job.attempt_id)
                result = ReportedOutcome(
                    Outcome.FAILED, f"answered, then the agent failed: {type(exc).__name__}"
                )
    finally:
        with contextlib.suppress(Exception):
            await hang_up()
    await report(callback, result)
    return result


async def after_answer(
    agent: Conversation,
    verdict: Verdict,
    hooks: AnswerHooks,
    *,
    greeting_transcribed: bool = True,
    menu_target: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ReportedOutcome:
    """The answered part of an attempt, once dialtone has said who answered.

    A voicemail box gets the message once `hooks.beep()` says the beep has gone (or
    gave up waiting); a mailbox that takes no messages gets nothing; a call screener
    gets one sentence and the call goes on with whoever follows
    (`screening.after_screener`); a phone menu is walked to `menu_target` when the
    persona names one and the call can send keys (`ivr.through_menu`), else gets
    nothing; a person (or "unsure": better to talk to a machine than to hang up on a
    person) hears the reminder, and `hooks.conversation()`
    returns when the call is over. AMD calls a short "hello?" human on timing alone,
    often before the recogniser has sent its words; `greeting_transcribed=False` waits
    for them first, because a transcript landing during the reminder would interrupt it.

    A person who hears no agent speech within `ABANDON_AFTER_S` of the verdict (the
    agent's `spoke_at`, on `clock`) is an abandoned call: reported beside the outcome,
    counted per campaign (the verdict comes after their greeting ended, so this counts
    at least every call Ofcom's rule counts).
    """
    answer = verdict.answer
    if answer is AnswerClass.VOICEMAIL:
        if verdict.unavailable:
            return ReportedOutcome(Outcome.VOICEMAIL, "mailbox takes no messages; none left")
        heard = await hooks.beep()
        await agent.leave_voicemail()
        how = "after the beep" if heard else "no beep heard; after the greeting"
        return ReportedOutcome(Outcome.VOICEMAIL, f"message left ({how})")
    if answer is AnswerClass.IVR:
        if menu_target and hooks.menu is not None and hooks.send_keys is not None:
            return await through_menu(agent, verdict, hooks, menu_target)
        return ReportedOutcome(Outcome.NO_ANSWER, "a phone menu answered; nothing left")
    if answer is AnswerClass.SCREENING:
        return await after_screener(agent, hooks)
    if not greeting_transcribed:
        await agent.greeting_settled(GREETING_SETTLE_S)
    heard_at = clock()
    agent.deliver()
    await hooks.conversation()
    spoke_at = agent.spoke_at
    late = spoke_at is None or spoke_at - heard_at > ABANDON_AFTER_S
    return replace(agent.result(), abandoned=late)
