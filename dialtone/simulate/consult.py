"""The consult line of a simulated call: the brief and the answer, in a modelled room.

Drives the same desk steps as the worker's consult line (`dialtone/call/consult.py`),
but the consult room is a room of the simulated call's `SimulatedRooms`: the brief is
spoken with the call's own TTS and published there, the human's answer comes from the
scenario's far end, and connecting is the agent relaying the two rooms. It notes when
the brief played and when the human accepted, so the report can measure each ear.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..telephony.consult import (
    CONSULT_AGENT_IDENTITY,
    ConsultReply,
    ReplyJudge,
    judge_by_phrases,
    reply_from_key,
)
from .far_end import SimulatedFarEnd
from .phone_audio import Int16Array

#: Speaks text with the call's TTS: (samples, sample rate).
Speak = Callable[[str], Awaitable[tuple[Int16Array, int]]]


@dataclass
class ConsultNotes:
    """When things happened in one consult, on the call clock (None: never)."""

    room: str
    human: str | None = None
    brief_start: float | None = None
    brief_end: float | None = None
    accepted_at: float | None = None
    reply: ConsultReply | None = None


@dataclass
class SimulatedConsultLine:
    """`ConsultLine` over the simulated call's rooms."""

    room: str
    far_end: SimulatedFarEnd
    speak: Speak
    judge: ReplyJudge = judge_by_phrases
    notes: list[ConsultNotes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.note = ConsultNotes(self.room)
        self.notes.append(self.note)

    @property
    def _now(self) -> float:
        return self.far_end.clock.now()

    async def open(self) -> None:
        self.far_end.rooms.join(self.room, CONSULT_AGENT_IDENTITY)

    async def first_words(self, identity: str) -> str | None:
        self.note.human = identity
        # A desk dialing through another server (the LiveKit double in tests) answered
        # the dial there; the human's leg is then placed in this consult room here.
        self.far_end.answered(identity, self.room)
        return await self.far_end.first_words(identity)

    async def brief(self, identity: str, text: str) -> None:
        samples, rate = await self.speak(text)
        self.note.brief_start = self._now
        self.far_end.rooms.play(
            self.room, CONSULT_AGENT_IDENTITY, "brief", samples, rate, at=self.note.brief_start
        )
        await asyncio.sleep(samples.size / rate)
        self.note.brief_end = self._now

    async def reply(self, identity: str, seconds: float) -> ConsultReply:
        try:
            words, key = await asyncio.wait_for(self.far_end.answer_brief(identity), seconds)
        except TimeoutError:
            words, key = None, None
        answer = reply_from_key(key) if key is not None else ConsultReply.UNCLEAR
        if answer is ConsultReply.UNCLEAR and words:
            answer = await self.judge(words)
        self.note.reply = answer
        return answer

    async def connect(self, identity: str) -> None:
        self.note.accepted_at = self._now
        self.far_end.rooms.relay(self.far_end.call_room, self.room)

    async def close(self) -> None:
        self.far_end.rooms.leave(self.room, CONSULT_AGENT_IDENTITY)
