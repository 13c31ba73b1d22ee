"""Answering one inbound call: the parts an agent program puts together.

An agent program (`agents/receptionist.py`) builds its own `AgentSession` and calls
`session.start` itself, like any LiveKit agent; everything around that — the caller's
SIP identity, the persona the dispatch rule asked for, the speech pipeline, the call
record, the message store, transfers and the caller's keys — is the same for every
inbound agent and lives here (`answer`, `InboundCall`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TypeGuard

from livekit import rtc
from livekit.agents import Agent, AgentSession, JobContext, RecordingOptions
from livekit.agents.voice import room_io

from ..call.consult import Relays
from ..call.control import TransferringAgent
from ..call.transfers import (
    JobLeaveControl,
    human_listener,
    job_consult_lines,
    make_transfers,
    route_caller_keys,
)
from ..config import Settings, load_settings
from ..messages.store import MessageStore, message_store
from ..personas import Persona, PersonaBook
from ..pipeline import Pipeline, build_pipeline, phone_room_options
from ..records.job import AUDIO_ONLY, audio_only_refused, keep_job_recording, record_job_call
from ..records.models import Direction
from ..records.recorder import CallRecorder
from ..records.store import CallStart
from ..telephony.caller import CallerInfo
from ..telephony.consult import ConsultLines
from ..telephony.transfer import FirstWords
from ..turn_metrics import TurnMetricsRecorder
from ..wire import InboundJob
from .call import CallContext, MakeAgent

logger = logging.getLogger("dialtone.worker")


class RoomCallControl:
    """Hangs up a real call by deleting its room, which drops the SIP leg at once."""

    def __init__(self, ctx: JobContext, session: AgentSession) -> None:
        self._ctx = ctx
        self._session = session

    async def hang_up(self, reason: str) -> None:
        logger.info("hanging up", extra={"room": self._ctx.room.name, "reason": reason})
        self._session.shutdown(drain=True)
        await self._ctx.delete_room()
        self._ctx.shutdown(reason=reason)


@dataclass
class InboundCall:
    """What dialtone prepares for one inbound call; the agent program starts the session.

    `answer` fills it (the caller's SIP identity, the persona the dispatch rule asked
    for, the speech pipeline); `context` records the call and builds what the agent's
    tools need for the session the program made; `starting` wraps `session.start`.
    """

    ctx: JobContext
    settings: Settings
    persona: Persona
    caller: CallerInfo
    caller_identity: str | None
    pipeline: Pipeline
    relays: Relays = field(default_factory=Relays)
    _recorder: CallRecorder | None = None
    _recorded: bool = False
    _transfers: bool = False

    @property
    def room_options(self) -> room_io.RoomOptions:
        """The room input/output options of a phone call (`DIALTONE_INPUT_FRAME_MS`)."""
        return phone_room_options(frame_ms=self.settings.input_frame_ms)

    @property
    def record(self) -> bool | RecordingOptions:
        """`session.start(record=...)`: audio only for a recorded persona, else the
        project's own setting, as livekit-agents defaults to (known after `context`)."""
        return AUDIO_ONLY if self._recorded else self.ctx.job.enable_recording

    async def context(self, session: AgentSession) -> CallContext:
        """The call record for `session`, then what the agent's tools need."""
        ctx, caller, settings = self.ctx, self.caller, self.settings
        turns = TurnMetricsRecorder(session, call_id=caller.call_id)
        recorder = await record_job_call(  # the call record, finished at job shutdown
            ctx,
            session,
            CallStart(
                Direction.INBOUND,
                room=ctx.room.name,
                sip_call_id=caller.call_id,
                caller_number=caller.phone_number,
                called_number=caller.dialed_number,
                trunk=caller.trunk_id,
                persona=self.persona.name,
            ),
            settings=settings,
            participant_identity=self.caller_identity,
            turns=turns,
        )
        self._recorder = recorder
        self.pipeline.on_fallback(recorder.provider_changed)  # degraded turns in the record
        consult = None
        if self.caller_identity is not None:
            consult = job_consult_lines(
                room=ctx.room,
                lk=ctx.api,
                caller_identity=self.caller_identity,
                settings=settings,
                pipeline=self.pipeline,
                relays=self.relays,
            )
        call = call_context(
            ctx,
            session,
            self.persona,
            caller,
            self.caller_identity,
            message_store(settings),
            human_listener(ctx.room, self.pipeline),
            consult=consult,
            relays=self.relays,
        )
        self._transfers = call.transfers is not None
        recorded = self.persona.recording.enabled and settings.record_audio == "keep"
        if recorded and (refused := audio_only_refused(ctx.job)) is not None:
            logger.error(refused, extra={"call_id": caller.call_id})
            recorded = False  # answer the call unrecorded rather than fail it at start
        if recorded:
            keep_job_recording(ctx, session, lambda: recorder.record_id, settings)
        self._recorded = recorded
        return call

    def take_keys(self, agent: Agent) -> None:
        """The caller's DTMF keys reach `agent` if it runs transfers."""
        if self._transfers and self.caller_identity is not None and takes_keys(agent):
            route_caller_keys(self.ctx.room, agent, self.caller_identity)

    @contextlib.asynccontextmanager
    async def starting(self) -> AsyncIterator[None]:
        """Around `session.start`: the call record says whether the agent started."""
        try:
            yield
        except Exception as exc:
            if self._recorder is not None:
                self._recorder.error(f"the agent could not start: {type(exc).__name__}")
            raise
        if self._recorder is not None:
            self._recorder.answered()


async def answer(ctx: JobContext) -> InboundCall:
    """Join the call: the caller's SIP identity, the persona, the speech pipeline."""
    settings = load_settings()
    book = PersonaBook.load(settings.persona_dir, settings.default_persona)
    await ctx.connect()
    caller = CallerInfo()
    caller_identity: str | None = None  # console mode has no SIP caller (and no transfers)
    if not ctx.is_fake_job():
        participant = await ctx.wait_for_participant(kind=rtc.ParticipantKind.PARTICIPANT_KIND_SIP)
        caller = CallerInfo.from_attributes(participant.attributes)
        caller_identity = participant.identity
    persona = book.pick(
        requested=InboundJob.from_metadata(ctx.job.metadata).persona,
        dialed_number=caller.dialed_number,
    )
    logger.info(
        "call answered",
        extra={"call_id": caller.call_id, "persona": persona.name, "room": ctx.room.name},
    )
    pipeline = build_pipeline(settings, persona, ctx.proc.userdata["vad"])
    ctx.add_shutdown_callback(pipeline.aclose)
    return InboundCall(ctx, settings, persona, caller, caller_identity, pipeline)


async def answer_call(ctx: JobContext, make_agent: MakeAgent) -> None:
    """The whole inbound entrypoint around `make_agent`: what `agents/receptionist.py`
    spells out step by step."""
    call = await answer(ctx)
    session: AgentSession = AgentSession(**call.pipeline.session_kwargs())
    agent = make_agent(await call.context(session))
    call.take_keys(agent)
    async with call.starting():
        await session.start(
            agent=agent, room=ctx.room, room_options=call.room_options, record=call.record
        )


def call_context(
    ctx: JobContext,
    session: AgentSession,
    persona: Persona,
    caller: CallerInfo,
    caller_identity: str | None,
    store: MessageStore,
    first_words: FirstWords | None = None,
    *,
    consult: ConsultLines | None = None,
    relays: Relays | None = None,
) -> CallContext:
    """What an inbound agent's tools need, with transfers when the persona has targets
    and there is a SIP caller.

    Transfers use the job's LiveKit API client; `first_words` listens to the human's leg
    for a voicemail greeting; `consult` makes warm transfers private (consult, then
    connect); after a handover only the agent leaves (`JobLeaveControl`, which waits for
    the `relays`).
    """
    transfers = None
    if persona.transfer_targets and caller_identity is not None:
        transfers = make_transfers(
            lk=ctx.api,
            room=ctx.room.name,
            caller_identity=caller_identity,
            call_id=caller.call_id,
            leave=JobLeaveControl(ctx, session, relays),
            first_words=first_words,
            consult=consult,
        )
    return CallContext(
        persona=persona,
        caller=caller,
        room=ctx.room.name,
        messages=store,
        control=RoomCallControl(ctx, session),
        transfers=transfers,
    )


def build_agent(
    ctx: JobContext,
    session: AgentSession,
    make_agent: MakeAgent,
    persona: Persona,
    caller: CallerInfo,
    caller_identity: str | None,
    store: MessageStore,
    first_words: FirstWords | None = None,
    *,
    consult: ConsultLines | None = None,
    relays: Relays | None = None,
) -> Agent:
    """`call_context`, the agent `make_agent` builds on it, and the caller's keys to it."""
    call = call_context(
        ctx,
        session,
        persona,
        caller,
        caller_identity,
        store,
        first_words,
        consult=consult,
        relays=relays,
    )
    agent = make_agent(call)
    if call.transfers is not None and caller_identity is not None and takes_keys(agent):
        route_caller_keys(ctx.room, agent, caller_identity)
    return agent


def takes_keys(agent: object) -> TypeGuard[TransferringAgent]:
    """Whether `agent` runs transfers (the receptionist only does with targets)."""
    return callable(getattr(agent, "on_caller_key", None)) and hasattr(agent, "results")
