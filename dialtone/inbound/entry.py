"""Answering one inbound call: the steps from dispatch to a running agent.

An agent program (`agents/receptionist.py`) passes its own `make_agent`; everything
around the agent — the caller's SIP identity, the persona the dispatch rule asked for,
the speech pipeline, the call record, the message store, transfers and the caller's
keys — is the same for every inbound agent and lives here.
"""

from __future__ import annotations

import logging
from typing import TypeGuard

from livekit import rtc
from livekit.agents import Agent, AgentSession, JobContext

from ..call.control import TransferringAgent
from ..call.transfers import JobLeaveControl, human_listener, make_transfers, route_caller_keys
from ..config import load_settings
from ..messages.store import MessageStore, message_store
from ..personas import Persona, PersonaBook
from ..pipeline import build_pipeline, phone_room_options
from ..records.job import AUDIO_ONLY, keep_job_recording, record_job_call
from ..records.models import Direction
from ..records.store import CallStart
from ..telephony.caller import CallerInfo
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


async def answer_call(ctx: JobContext, make_agent: MakeAgent) -> None:
    """The whole inbound entrypoint, around the agent `make_agent` builds."""
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
    session: AgentSession = AgentSession(**pipeline.session_kwargs())
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
            persona=persona.name,
        ),
        settings=settings,
        participant_identity=caller_identity,
        turns=turns,
    )
    pipeline.on_fallback(recorder.provider_changed)  # degraded turns in the record
    store = message_store(settings)
    agent = build_agent(
        ctx,
        session,
        make_agent,
        persona,
        caller,
        caller_identity,
        store,
        human_listener(ctx.room, pipeline),
    )
    recorded = persona.recording.enabled and settings.record_audio == "keep"
    if recorded:
        keep_job_recording(ctx, session, lambda: recorder.record_id, settings)
    try:
        options = phone_room_options()
        if recorded:
            await session.start(agent=agent, room=ctx.room, room_options=options, record=AUDIO_ONLY)
        else:
            await session.start(agent=agent, room=ctx.room, room_options=options)
    except Exception as exc:
        recorder.error(f"the agent could not start: {type(exc).__name__}")
        raise
    recorder.answered()


def build_agent(
    ctx: JobContext,
    session: AgentSession,
    make_agent: MakeAgent,
    persona: Persona,
    caller: CallerInfo,
    caller_identity: str | None,
    store: MessageStore,
    first_words: FirstWords | None = None,
) -> Agent:
    """The agent for one call, with transfers when the persona has targets and a caller.

    Transfers use the job's LiveKit API client; `first_words` listens to the human's leg
    for a voicemail greeting; after a handover only the agent leaves (`JobLeaveControl`);
    the caller's DTMF keys reach an agent that takes them.
    """
    transfers = None
    if persona.transfer_targets and caller_identity is not None:
        transfers = make_transfers(
            lk=ctx.api,
            room=ctx.room.name,
            caller_identity=caller_identity,
            call_id=caller.call_id,
            leave=JobLeaveControl(ctx, session),
            first_words=first_words,
        )
    call = CallContext(
        persona=persona,
        caller=caller,
        room=ctx.room.name,
        messages=store,
        control=RoomCallControl(ctx, session),
        transfers=transfers,
    )
    agent = make_agent(call)
    if transfers is not None and caller_identity is not None and takes_keys(agent):
        route_caller_keys(ctx.room, agent, caller_identity)
    return agent


def takes_keys(agent: object) -> TypeGuard[TransferringAgent]:
    """Whether `agent` runs transfers (the receptionist only does with targets)."""
    return callable(getattr(agent, "on_caller_key", None)) and hasattr(agent, "results")
