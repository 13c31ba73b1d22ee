"""The livekit-agents worker: registers `receptionist` and answers each dispatched call.

A dispatch rule (see `trunks/`) puts each inbound caller in a room and dispatches this
agent, with `{"persona": ...}` as job metadata when the rule names one. The entrypoint
runs in a job process of its own; the VAD model is loaded once per process in
`prewarm` so a call does not wait for it.
"""

from __future__ import annotations

import json
import logging

from livekit import rtc
from livekit.agents import AgentServer, AgentSession, JobContext, JobProcess

# livekit-agents requires plugins to register on the main thread; console mode runs the
# job on another thread, so they are imported here, when the worker module loads.
from livekit.plugins import deepgram, openai, silero  # noqa: F401

from . import names
from .config import Settings, load_settings
from .personas import Persona, PersonaBook
from .pipeline import build_pipeline, load_vad
from .receptionist import CallContext, Receptionist, TransferReceptionist, make_receptionist
from .records.job import record_job_call, worker_metrics_dir
from .records.models import Direction
from .records.store import CallStart
from .store.db import make_engine, sqlite_url
from .store.messages import MessageStore
from .telephony.caller import CallerInfo
from .telephony.transfer import FirstWords
from .transfer_wiring import JobLeaveControl, human_listener, make_transfers, route_caller_keys
from .turn_metrics import TurnMetricsRecorder

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


def requested_persona(job_metadata: str) -> str | None:
    """The persona a dispatch rule asked for, from the job's JSON metadata, if any."""
    if not job_metadata.strip():
        return None
    try:
        data = json.loads(job_metadata)
    except json.JSONDecodeError:
        logger.warning("job metadata is not JSON; using the default persona")
        return None
    persona = data.get("persona") if isinstance(data, dict) else None
    return persona if isinstance(persona, str) and persona else None


def prewarm(proc: JobProcess) -> None:
    proc.userdata["vad"] = load_vad()


async def receptionist_entrypoint(ctx: JobContext) -> None:
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
        requested=requested_persona(ctx.job.metadata), dialed_number=caller.dialed_number
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
    store = MessageStore(make_engine(sqlite_url(settings.data_dir)))
    agent = build_receptionist(
        ctx, session, persona, caller, caller_identity, store, human_listener(ctx.room, pipeline)
    )
    try:
        await session.start(agent=agent, room=ctx.room)
    except Exception as exc:
        recorder.error(f"the agent could not start: {type(exc).__name__}")
        raise
    recorder.answered()


def build_receptionist(
    ctx: JobContext,
    session: AgentSession,
    persona: Persona,
    caller: CallerInfo,
    caller_identity: str | None,
    store: MessageStore,
    first_words: FirstWords | None = None,
) -> Receptionist:
    """The agent for one call, with transfers when the persona has targets and a caller.

    Transfers use the job's LiveKit API client; `first_words` listens to the human's leg
    for a voicemail greeting; after a handover only the agent leaves (`JobLeaveControl`);
    the caller's DTMF keys reach the agent.
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
    agent = make_receptionist(call)
    if isinstance(agent, TransferReceptionist) and caller_identity is not None:
        route_caller_keys(ctx.room, agent, caller_identity)
    return agent


def build_server(settings: Settings, agent: str = names.RECEPTIONIST) -> AgentServer:
    """The worker; settings are checked here so a bad profile fails before registering.

    livekit-agents 1.8.9's AgentServer serves one agent name per process (a second
    `rtc_session` raises), so the reminder runs as its own worker:
    `dialtone reminder start` (see README "The reminder agent").
    """
    _ = settings.resolved_profile
    PersonaBook.load(settings.persona_dir, settings.default_persona)
    server = AgentServer(
        setup_fnc=prewarm,
        log_level=settings.log_level,
        # Each call runs in a job process; their metrics meet in multiprocess files (one
        # directory per agent name: each worker empties its own when it starts).
        prometheus_port=settings.worker_metrics_port or None,
        prometheus_multiproc_dir=str(worker_metrics_dir(settings) / agent),
    )
    if agent == names.REMINDER:
        from .outbound.entry import reminder_entrypoint

        server.rtc_session(reminder_entrypoint, agent_name=names.REMINDER)
    elif agent == names.RECEPTIONIST:
        server.rtc_session(receptionist_entrypoint, agent_name=names.RECEPTIONIST)
    else:
        raise ValueError(
            f"unknown agent {agent!r}; known: {', '.join(sorted(names.KNOWN_AGENT_NAMES))}"
        )
    return server
