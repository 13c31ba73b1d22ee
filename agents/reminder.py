"""The outbound reminder agent: one job = one attempt to call one contact.

This is an agent program: edit it like any LiveKit agent. Run it the LiveKit way
(`python agents/reminder.py start`) or as `dialtone reminder start`. The campaign
dialer dispatches agent `reminder` with the attempt in the job metadata. `entrypoint`
builds the `AgentSession` and starts it, as a LiveKit example does; around it,
`dialtone.outbound.entry` reads the attempt (`open_call`), and after the start asks for
the dial permit, dials, runs answering-machine detection and reports the outcome
(`run_call`; `dialtone/outbound/attempt.py` has the steps). This file is the
conversation once someone answers.

`ReminderAgent` is the conversation with a person: the reminder from the persona's
templates, and tools to confirm, cancel, ask for a new time, reach a human (the
transfer desk), opt out (the outcome puts the number on the do-not-call list) and end
the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from livekit.agents import (
    Agent,
    AgentSession,
    JobContext,
    RunContext,
    StopResponse,
    function_tool,
    llm,
)
from livekit.agents.voice.events import AgentStateChangedEvent, UserInputTranscribedEvent
from livekit.agents.voice.speech_handle import SpeechHandle

from dialtone.call.control import CallControl, Transfers
from dialtone.campaigns.models import Outcome
from dialtone.outbound.dial import ReportedOutcome
from dialtone.outbound.entry import open_call, reminder_agent, run_call
from dialtone.outbound.job import job_values, render
from dialtone.personas import Persona, ReminderScript
from dialtone.telephony.hold import HoldLine, OnHold
from dialtone.telephony.outcomes import TransferOutcome, TransferResult
from dialtone.wire import REMINDER, ReminderJob
from dialtone.worker import run_agent

AGENT_NAME = REMINDER


# --- the conversation -----------------------------------------------------------------


def opt_out_words_in(text: str, script: ReminderScript) -> str | None:
    """The longest opt-out word or phrase said in `text` (whole words), or None."""
    if script.opt_out is None:
        return None
    said = " " + " ".join(re.sub(r"[^a-z0-9']+", " ", text.lower()).split()) + " "
    for word in sorted(script.opt_out.words, key=len, reverse=True):
        if f" {word} " in said:
            return word
    return None


@dataclass
class Decision:
    """What the person decided, in the order of the tools they made the agent use."""

    outcome: Outcome
    detail: str


class ReminderAgent(OnHold, Agent):
    """Talks to the person who answered: the reminder, then their answer through tools.

    `decision` is what gets reported; an opt-out stays whatever follows it (the
    person's wish not to be called again wins over anything else they said).
    """

    def __init__(
        self,
        job: ReminderJob,
        persona: Persona,
        control: CallControl,
        *,
        transfers: Transfers | None = None,
        speak_on_enter: bool = False,
    ) -> None:
        self.job = job
        self.persona = persona
        self.script = persona.reminder
        self.values = job_values(job, persona)
        super().__init__(instructions=self._prompt())
        self.control = control
        self.transfers = transfers
        self.speak_on_enter = speak_on_enter
        self.decision: Decision | None = None
        #: set by the entrypoint: lists the number as do-not-call at once (retried)
        self.on_opt_out: Callable[[str], Awaitable[object]] | None = None
        self._listing: set[asyncio.Future[object]] = set()
        self.reminder_heard = False
        self.delivering = False
        #: when the agent's voice first played (time.monotonic): abandonment is measured
        self.spoke_at: float | None = None
        self.transfer_results: list[TransferResult] = []
        self.ended = asyncio.Event()
        self._line = HoldLine(self)
        self._tasks: set[asyncio.Task[None]] = set()

    def _prompt(self) -> str:
        facts = "\n".join(f"- {k}: {v}" for k, v in self.values.items() if k != "agent")
        targets = ", ".join(t.name for t in self.persona.transfer_targets)
        parts = [
            self.persona.instructions.strip(),
            f"You placed this call to remind {self.values['name']} of an appointment. "
            "You have already said:\n" + self.reminder_text(),
            "What you know about the appointment:\n" + facts,
            "Listen to the answer and use exactly one tool for it: confirm_appointment "
            "when they will come, cancel_appointment when they will not, "
            "request_reschedule when they want another time, opt_out when they do not "
            "want reminder calls any more. Each tool's answer tells you what to say; then "
            "use end_call. Never invent a new appointment time yourself.",
            "You are on a phone call. Keep answers short and spoken: no lists, no markdown.",
        ]
        if targets:
            parts.append(
                f"If they want to talk to a person ({targets}), tell them to hold and use "
                "transfer_to_human."
            )
        return "\n\n".join(parts)

    def reminder_text(self) -> str:
        """The opening, the disclosure (who calls, automated, how to opt out), the message."""
        parts = (self.script.opening, self.script.disclosure, self.script.message)
        return " ".join(render(part, self.values) for part in parts if part)

    def voicemail_text(self) -> str:
        return render(self.script.voicemail, self.values)

    async def on_enter(self) -> None:
        if self.speak_on_enter:
            self.deliver()

    async def on_user_turn_completed(
        self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage
    ) -> None:
        """Before the reminder starts, words heard (the "hello?", a mailbox greeting) are
        for answering-machine detection only: the agent does not reply to them. After it,
        an opt-out word ends the call here, whatever the language model would say."""
        if not self.delivering:
            raise StopResponse()
        heard = opt_out_words_in(new_message.text_content or "", self.script)
        if heard is not None:
            self.opt_out_now(f'opted out by voice: heard "{heard}"')
            raise StopResponse()

    def on_caller_key(self, key: str) -> None:
        """A key the callee pressed (DTMF): the opt-out key opts out once they were told."""
        opt_out = self.script.opt_out
        if opt_out is not None and key == opt_out.key and self.delivering:
            self.opt_out_now(f"opted out by key {key}")

    def opt_out_now(self, evidence: str) -> None:
        """Record the opt-out with its evidence, confirm it, hang up. Said once."""
        if not self._opted_out(evidence):
            return
        self.session.interrupt()
        handle = self.session.say(self.script.opted_out, allow_interruptions=False)

        def _after(_: SpeechHandle) -> None:
            self._spawn(self.control.hang_up("the callee opted out"))

        handle.add_done_callback(_after)

    async def greeting_settled(self, seconds: float) -> None:
        """Wait until the greeting's final transcript arrived (or `seconds` passed)."""
        heard = asyncio.Event()

        def on_transcribed(event: UserInputTranscribedEvent) -> None:
            if event.is_final:
                heard.set()

        self.session.on("user_input_transcribed", on_transcribed)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(heard.wait(), seconds)
        finally:
            self.session.off("user_input_transcribed", on_transcribed)
        self.session.clear_user_turn()

    def deliver(self) -> SpeechHandle:
        """Say the reminder (after a person answered). It may be interrupted."""
        self.delivering = True

        def on_state(event: AgentStateChangedEvent) -> None:
            if event.new_state == "speaking" and self.spoke_at is None:
                self.spoke_at = time.monotonic()

        self.session.on("agent_state_changed", on_state)
        # A recorded call says so first, in full, before the reminder.
        if (announcement := self.persona.recording.announcement) is not None:
            self.session.say(announcement, allow_interruptions=False)
        handle = self.session.say(self.reminder_text())
        handle.add_done_callback(self._heard)
        return handle

    def _heard(self, handle: SpeechHandle) -> None:
        # Cut off (they hung up, or talked over it) is not delivered: what they say
        # next decides, and without an answer the attempt is retried.
        self.reminder_heard = not handle.interrupted

    async def leave_voicemail(self) -> None:
        """Speak the voicemail message in full (nobody to interrupt it)."""
        handle = self.session.say(self.voicemail_text(), allow_interruptions=False)
        await handle.wait_for_playout()

    async def answer_screener(self) -> None:
        """Tell a call screener who is calling and why, in one sentence, in full."""
        sentence = render(self.script.screening, self.values)
        handle = self.session.say(sentence, allow_interruptions=False)
        await handle.wait_for_playout()

    def _decide(self, outcome: Outcome, detail: str) -> None:
        if self.decision is not None and self.decision.outcome is Outcome.OPTED_OUT:
            return
        self.decision = Decision(outcome, detail[:500])

    @staticmethod
    def _say_then_end(sentence: str) -> str:
        return f'Tell them: "{sentence}" Then use end_call.'

    @function_tool
    async def confirm_appointment(self, context: RunContext) -> str:
        """They will come to the appointment as planned."""
        self._decide(Outcome.COMPLETED, "confirmed")
        return self._say_then_end(self.script.confirmed)

    @function_tool
    async def cancel_appointment(self, context: RunContext, note: str = "") -> str:
        """They will not come and want to cancel the appointment.

        Args:
            note: Their reason, in a few words, if they gave one.
        """
        self._decide(Outcome.COMPLETED, f"cancel requested{': ' + note if note else ''}")
        return self._say_then_end(self.script.cancelled)

    @function_tool
    async def request_reschedule(self, context: RunContext, preferred_time: str = "") -> str:
        """They want a different time; the office calls them back to arrange it.

        Args:
            preferred_time: When they would prefer, in their words, if they said.
        """
        detail = f"reschedule requested{': ' + preferred_time if preferred_time else ''}"
        self._decide(Outcome.COMPLETED, detail)
        return self._say_then_end(self.script.reschedule)

    @function_tool
    async def opt_out(self, context: RunContext) -> str:
        """They do not want any more reminder calls: their number goes on the do-not-call list."""
        self._opted_out("asked not to be called again")
        return self._say_then_end(self.script.opted_out)

    def _opted_out(self, evidence: str) -> bool:
        """Decide the opt-out and have it listed at once; False if it was already."""
        first = self.decision is None or self.decision.outcome is not Outcome.OPTED_OUT
        self._decide(Outcome.OPTED_OUT, evidence)
        if first and self.on_opt_out is not None:
            # Its own task, kept until done: the call goes on (goodbye, hang-up) meanwhile.
            task = asyncio.ensure_future(self.on_opt_out(evidence))
            self._listing.add(task)
            task.add_done_callback(self._listing.discard)
        return first

    @function_tool
    async def transfer_to_human(self, context: RunContext, reason: str = "") -> str | None:
        """Connect them to a person at the office. Tell them to hold first.

        Args:
            reason: One sentence for the person: what they need. Only the person hears
                it, before they accept the call.
        """
        if self.transfers is None or not self.persona.transfer_targets:
            return 'Tell them: "I can\'t connect you right now; the office will call you." '
        target = self.persona.transfer_targets[0]
        brief = (
            f"Hi {target.name}, this is the reminder line. I have {self.values['name']} on the "
            f"line about {reason.strip().rstrip('.') or 'their appointment'}. "
            "Will you take the call? Say yes or no, or press 1 or 2."
        )
        result = await self.transfers.desk.warm(target, self, brief)
        self.transfer_results.append(result)
        if result.outcome is TransferOutcome.COMPLETED:
            self._decide(Outcome.COMPLETED, f"transferred to {target.name}")
            return None
        return (
            f"Tell them: \"I'm sorry, nobody at the {target.name} could take the call; "
            'the office will call you back." Then ask if there is anything else.'
        )

    @function_tool
    async def end_call(self, context: RunContext) -> None:
        """Hang up. Say goodbye in the same reply first: the call ends once it is heard."""

        def _after_goodbye(_: SpeechHandle) -> None:
            self._spawn(self.control.hang_up("agent ended the call"))

        context.speech_handle.add_done_callback(_after_goodbye)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            finally:
                self.ended.set()

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def result(self) -> ReportedOutcome:
        """The attempt's outcome once the conversation is over."""
        if self.decision is not None:
            return ReportedOutcome(self.decision.outcome, self.decision.detail)
        if self.reminder_heard:
            return ReportedOutcome(Outcome.COMPLETED, "reminder delivered; no answer given")
        if self.delivering:
            return ReportedOutcome(Outcome.DECLINED, "the reminder was cut off; no answer given")
        return ReportedOutcome(Outcome.DECLINED, "answered, hung up before the reminder")

    # --- CallSide for the transfer desk (hold and speech: OnHold) ----------
    async def leave(self) -> None:
        assert self.transfers is not None
        control = self.transfers.control
        line = self._line

        async def _leave_after_speech() -> None:
            await line.spoken()
            await control.leave("handed the person to a human")

        self._spawn(_leave_after_speech())


def make_agent(
    job: ReminderJob, persona: Persona, control: CallControl, transfers: Transfers | None
) -> ReminderAgent:
    """The agent for one attempt (the entrypoint and the simulator both build it here)."""
    return ReminderAgent(job, persona, control, transfers=transfers)


async def entrypoint(ctx: JobContext) -> None:
    """One dispatched attempt (livekit-agents runs this in a job process).

    dialtone opens the attempt (the contact, the persona, the speech pipeline); the
    session and the agent are made here, as in any LiveKit agent; then dialtone dials,
    listens for voicemail, lets the agent talk and reports the outcome.
    """
    call = await open_call(ctx)
    if call is None:
        return  # nothing to call (refused job, missing persona): already reported
    session: AgentSession = AgentSession(**call.pipeline.session_kwargs())
    agent = reminder_agent(call, session, make_agent)  # hang-up, transfers, call record
    await session.start(
        agent=agent, room=ctx.room, room_options=call.room_options, record=call.record
    )
    await run_call(call, session, agent)


if __name__ == "__main__":
    run_agent(AGENT_NAME, entrypoint)
