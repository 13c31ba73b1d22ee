"""The inbound receptionist: greets, answers from the persona, takes messages, hangs up,
and hands a caller to a human (warm transfer, or cold by SIP REFER) or a key press.

This is an agent program: edit it like any LiveKit agent. Run it the LiveKit way
(`python agents/receptionist.py start` or `dev`) or as `dialtone start`. `entrypoint`
builds the `AgentSession` and starts it, as a LiveKit example does; what is around it
(the caller's identity, the persona a dispatch rule asked for, the speech pipeline per
profile, the call record, transfers) comes from `dialtone.inbound.entry.answer`. How a
call is hung up differs between a real SIP call and a simulated one, so that is behind
`CallContext.control`.
"""

from __future__ import annotations

import asyncio
import logging
import re

from livekit.agents import Agent, AgentSession, JobContext, RunContext, function_tool, llm
from livekit.agents.voice.speech_handle import SpeechHandle

from dialtone.call.briefing import transcript, write_brief
from dialtone.inbound.call import CallContext
from dialtone.inbound.entry import answer
from dialtone.personas import TransferTarget
from dialtone.telephony.consult import template_brief
from dialtone.telephony.dtmf import DigitBuffer
from dialtone.telephony.hold import HoldLine, OnHold
from dialtone.telephony.outcomes import TransferOutcome, TransferResult
from dialtone.wire import RECEPTIONIST
from dialtone.worker import run_agent

AGENT_NAME = RECEPTIONIST

logger = logging.getLogger("dialtone.receptionist")


class Receptionist(Agent):
    """Answers an inbound call on behalf of one persona."""

    def __init__(self, call: CallContext) -> None:
        super().__init__(instructions=call.persona.system_prompt())
        self.call = call
        self._hang_up: asyncio.Future[None] | None = None

    async def on_enter(self) -> None:
        # A recorded call says so first, in full: consent must be heard before anything.
        if (announcement := self.call.persona.recording.announcement) is not None:
            self.session.say(announcement, allow_interruptions=False)
        # The greeting may be interrupted: callers often start talking straight away.
        self.session.say(self.call.persona.greeting)

    @function_tool
    async def take_message(self, context: RunContext, message: str, caller_name: str = "") -> str:
        """Save a message from the caller for the staff; they will call back.

        Args:
            message: The caller's message in their own words, including their name and a
                call-back number if they gave one.
            caller_name: The caller's name, if they said it; empty if not.
        """
        record = await self.call.messages.add(
            persona=self.call.persona.name,
            message=message,
            caller_name=caller_name,
            caller_number=self.call.caller.phone_number,
            call_id=self.call.caller.call_id,
            room=self.call.room,
        )
        logger.info(
            "message taken",
            extra={"message_id": record.id, "call_id": self.call.caller.call_id},
        )
        return "The message is saved. Tell the caller it will be passed on."

    @function_tool
    async def end_call(self, context: RunContext) -> None:
        """Hang up. Say goodbye in the same reply first: the call ends once it is heard."""

        def _after_goodbye(_: SpeechHandle) -> None:
            # The handle is done only once its audio has played out, so the goodbye is
            # heard in full before the line drops.
            self._hang_up = asyncio.ensure_future(self.call.control.hang_up("agent ended the call"))

        context.speech_handle.add_done_callback(_after_goodbye)


_FAILED = {
    TransferOutcome.NO_ANSWER: "did not answer",
    TransferOutcome.BUSY: "is on another call",
    TransferOutcome.DECLINED: "could not take the call",
    TransferOutcome.VOICEMAIL: "did not pick up",
    TransferOutcome.TRUNK_FAILURE: "could not be reached because of a phone line problem",
    TransferOutcome.DROPPED_AFTER_CONNECT: "was disconnected",
    TransferOutcome.REFER_REFUSED: "could not be reached",
}
_EXTENSION = re.compile(r"[0-9]{1,6}")


class TransferReceptionist(OnHold, Receptionist):
    """A receptionist that can also hand the caller to a human (persona transfer targets).

    The tools only exist on this class, so a persona without targets never offers them.
    It is the `CallSide` of a transfer: hold audio goes through the session's own audio
    output (the same channel the caller hears the agent on), so it is recorded and tested
    like speech. Nothing the caller says on hold starts an agent turn: hold audio is
    uninterruptible, so livekit-agents drops the caller's audio while it plays (its
    `discard_audio_if_uninterruptible` default, measured by the "caller talks on hold"
    simulated call), and the caller's audio input is also paused, as WarmTransferTask
    does, in case a deployment turns that default off. A warm transfer is private: the
    human is dialed into a consult room and hears the brief there, and the caller hears
    the human only once they accept (`dialtone/telephony/consult.py`); then the agent
    leaves. One transfer runs at a time, whether the model or a key press started it.
    """

    def __init__(self, call: CallContext) -> None:
        if call.transfers is None or not call.persona.transfer_targets:
            raise ValueError("TransferReceptionist needs transfer targets and a transfer desk")
        super().__init__(call)
        self.transfers = call.transfers
        self.results: list[TransferResult] = []
        self._line = HoldLine(self)
        self._keys = DigitBuffer(call.persona.transfer_targets)
        self._key_task: asyncio.Task[None] | None = None
        self._leaving: asyncio.Task[None] | None = None
        self._transferring = False

    # --- CallSide (hold and speech: OnHold) -----------------------------------
    async def leave(self) -> None:
        control = self.transfers.control

        async def _leave_after_speech() -> None:
            await self._line.spoken()
            await control.leave("handed the caller to a human")

        self._leaving = asyncio.ensure_future(_leave_after_speech())

    # --- choosing and running --------------------------------------------------------
    def _target(self, name: str, *, cold_only: bool = False) -> TransferTarget | None:
        """The target called `name` (loosely), or the first one when no name is given."""
        targets = [
            t for t in self.call.persona.transfer_targets if not cold_only or t.kind == "cold"
        ]
        wanted = name.strip().lower()
        if not wanted:
            return targets[0] if targets else None
        exact = [t for t in targets if t.name.lower() == wanted]
        loose = [t for t in targets if wanted in t.name.lower() or t.name.lower() in wanted]
        matches = exact or loose
        return matches[0] if matches else None

    def _names(self, *, cold_only: bool = False) -> str:
        targets = self.call.persona.transfer_targets
        return ", ".join(t.name for t in targets if not cold_only or t.kind == "cold")

    async def _brief(self, target: TransferTarget, reason: str) -> str:
        """What the human hears privately before accepting: the model writes it from the
        call so far (cloud profile), or the template fills it (offline, or on failure)."""
        said = [text for role, text in transcript(self.chat_ctx) if role == "user"]
        template = template_brief(
            target=target.name,
            business=self.call.persona.display_name,
            caller_number=self.call.caller.phone_number,
            reason=reason,
            said=said,
        )
        model = self.session.llm
        if not isinstance(model, llm.LLM):  # a realtime model, or none: the template
            return template
        return await write_brief(
            model,
            self.chat_ctx,
            caller_number=self.call.caller.phone_number,
            target=target.name,
            fallback=template,
        )

    async def _run(self, target: TransferTarget, reason: str, digits: str = "") -> TransferResult:
        desk = self.transfers.desk
        brief = await self._brief(target, reason)
        self._transferring = True
        try:
            if target.kind == "cold":
                result = await desk.cold(target, self, brief, digits=digits)
            else:
                result = await desk.warm(target, self, brief, digits=digits)
        finally:
            self._transferring = False
        self.results.append(result)
        return result

    def _caller_sentence(self, target: TransferTarget, result: TransferResult) -> str | None:
        """What the caller is told after a transfer that did not hand them over."""
        if result.outcome in (TransferOutcome.COMPLETED, TransferOutcome.CALLER_LEFT):
            return None
        if result.outcome is TransferOutcome.AFTER_HOURS:
            when = self.transfers.desk.callback_phrase(target)
            return (
                f"Nobody from the {target.name} is available right now; someone will call "
                f"you back {when}. Would you like to leave a message?"
            )
        return (
            f"I'm sorry, the {target.name} "
            f"{_FAILED.get(result.outcome, 'could not be reached')}. "
            "Would you like to leave a message?"
        )

    def _tell_llm(self, target: TransferTarget, result: TransferResult) -> str | None:
        """The tool's answer: nothing when the human has the caller, else what to say.

        The sentence to say is in double quotes, so a model can use it as is and the
        offline rule-based dialogue can speak it verbatim.
        """
        if result.outcome is TransferOutcome.CALLER_LEFT:
            return "The caller hung up while on hold. Say nothing more."
        sentence = self._caller_sentence(target, result)
        if sentence is None:
            return None  # the human has the caller; the agent says nothing more
        return f'Tell the caller: "{sentence}" If they want to, use take_message.'

    async def _transfer(
        self, name: str, reason: str, extension: str, *, cold_only: bool
    ) -> str | None:
        if self._transferring:
            return "A transfer is already in progress; wait for it to finish."
        if self._leaving is not None:
            return None  # the caller is with a human now
        if extension and not _EXTENSION.fullmatch(extension):
            return "The extension must be digits only; ask the caller again."
        chosen = self._target(name, cold_only=cold_only)
        if chosen is None:
            names = self._names(cold_only=cold_only)
            if not names:
                return "No direct transfer is configured. Use transfer_to_human instead."
            return f"There is nobody called {name!r}. You can transfer to: {names}."
        return self._tell_llm(chosen, await self._run(chosen, reason, extension))

    @function_tool
    async def transfer_to_human(
        self, context: RunContext, target: str = "", reason: str = "", extension: str = ""
    ) -> str | None:
        """Connect the caller to a person on the staff. Tell the caller to hold first.

        Args:
            target: Which person or team to reach, by name; empty for the default.
            reason: One sentence for the person: who is calling and what they need.
                Only the person hears it, before they accept the call.
            extension: Digits of an extension the caller asked for, if any; dialed on
                the person's phone menu after it answers.
        """
        return await self._transfer(target, reason, extension, cold_only=False)

    @function_tool
    async def transfer_call(
        self, context: RunContext, target: str = "", reason: str = ""
    ) -> str | None:
        """Hand the caller straight over to a number marked for direct (cold) transfer.

        Args:
            target: Which person or team to reach, by name; empty for the default.
            reason: One sentence about what the caller needs.
        """
        return await self._transfer(target, reason, "", cold_only=True)

    # --- keys the caller presses ------------------------------------------------------
    def on_caller_key(self, key: str) -> None:
        """A DTMF key from the caller (the worker wires `sip_dtmf_received` here).

        0 reaches the first target, a target's `extension` reaches that target. Keys
        pressed while a transfer runs (on hold) or after the handover are ignored.
        """
        busy = self._key_task is not None and not self._key_task.done()
        if self._transferring or busy or self._leaving is not None:
            return  # on hold, or already handed over to a human
        chosen = self._keys.press(key)
        if chosen is None:
            return
        self._key_task = asyncio.ensure_future(self._transfer_by_key(chosen))

    async def _transfer_by_key(self, target: TransferTarget) -> None:
        self.session.interrupt()
        await self.say(f"Connecting you to the {target.name}. Please hold.")
        result = await self._run(target, "the caller pressed a key to reach you")
        sentence = self._caller_sentence(target, result)
        if sentence is not None:
            # Said as is (not generated): it works the same with the offline profile.
            self._line.last_said = self.session.say(sentence)


def make_agent(call: CallContext) -> Receptionist:
    """The agent for a call: with transfer tools only when the persona has targets."""
    if call.transfers is not None and call.persona.transfer_targets:
        return TransferReceptionist(call)
    return Receptionist(call)


async def entrypoint(ctx: JobContext) -> None:
    """One dispatched call (livekit-agents runs this in a job process).

    dialtone answers (the caller, the persona, the speech pipeline for the profile);
    the session and the agent are made here, as in any LiveKit agent.
    """
    call = await answer(ctx)
    session: AgentSession = AgentSession(**call.pipeline.session_kwargs())
    agent = make_agent(await call.context(session))  # records the call; tools' context
    call.take_keys(agent)  # the caller's phone keys, when the agent transfers
    async with call.starting():  # the call record says whether the agent started
        await session.start(
            agent=agent, room=ctx.room, room_options=call.room_options, record=call.record
        )


if __name__ == "__main__":
    run_agent(AGENT_NAME, entrypoint)
