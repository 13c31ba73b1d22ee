"""The inbound receptionist: greets, answers from the persona, takes messages, hangs up.

The agent only decides *what* to do; how a call is hung up differs between a real SIP
call (delete the room, which drops the caller's leg) and a simulated one, so that is
behind the `CallControl` protocol the worker and the simulator each implement.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from livekit.agents import Agent, RunContext, function_tool
from livekit.agents.voice.speech_handle import SpeechHandle

from .personas import Persona
from .store.messages import MessageStore
from .telephony.caller import CallerInfo

logger = logging.getLogger("dialtone.receptionist")


class CallControl(Protocol):
    """How this call is ended; the worker and the simulator implement it."""

    async def hang_up(self, reason: str) -> None: ...


@dataclass(frozen=True)
class CallContext:
    """Everything about one call that the agent's tools need."""

    persona: Persona
    caller: CallerInfo
    room: str | None
    messages: MessageStore
    control: CallControl


class Receptionist(Agent):
    """Answers an inbound call on behalf of one persona."""

    def __init__(self, call: CallContext) -> None:
        super().__init__(instructions=call.persona.system_prompt())
        self.call = call
        self._hang_up: asyncio.Future[None] | None = None

    async def on_enter(self) -> None:
        # The greeting may be interrupted: callers often start talking straight away.
        self.session.say(self.call.persona.greeting)

    @function_tool
    async def take_message(self, context: RunContext, message: str) -> str:
        """Save a message from the caller for the staff; they will call back.

        Args:
            message: The caller's message in their own words, including their name and a
                call-back number if they gave one.
        """
        record = await self.call.messages.add(
            persona=self.call.persona.name,
            message=message,
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
