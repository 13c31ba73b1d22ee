"""The reminder worker's job: `run_attempt` wired to a real room, session and AMD.

`agents/reminder.py` passes its agent factory to `place_call`. The session starts before
the dial, bound to the callee's identity, and says nothing: answering-machine detection
(livekit-agents' `AMD`) must hear the first words, and the reminder is only spoken once
it says a person answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import numpy as np
from livekit import rtc
from livekit.agents import Agent, AgentSession, JobContext, RecordingOptions, llm
from livekit.agents.voice import room_io
from livekit.agents.voice.amd import AMD

from ..call.consult import Relays
from ..call.transfers import JobLeaveControl, job_consult_lines, make_transfers
from ..campaigns.models import Outcome
from ..config import Profile, Settings, load_settings
from ..personas import Persona, PersonaBook, PersonaError
from ..pipeline import Pipeline, build_pipeline, phone_room_options
from ..records.job import AUDIO_ONLY, audio_only_refused, keep_job_recording
from ..records.models import Direction
from ..records.outbound import OutboundRecording
from ..records.store import CallStart
from ..telephony.keys_out import keys_to
from ..telephony.outcomes import TransferOutcome
from ..wire import CALLEE_IDENTITY, JobError, ReminderJob
from .answer_session import (
    CalleeEars,
    far_end_quiet,
    listen_for_answer,
    menu_words,
    stt_recognizer,
)
from .answering import Recognize, Verdict
from .attempt import (
    MakeReminder,
    OptOutHook,
    ReminderConversation,
    after_answer,
    report,
    run_attempt,
)
from .callback import CampaignCallback
from .conversation import AnswerHooks
from .dial import ReportedOutcome
from .greeting_phrases import GREETING_PHRASES
from .ivr import REPEAT_WITHIN_S
from .job import menu_target_for
from .rules import ReminderRules
from .voicemail import BEEP_WAIT_S, GreetingRules

logger = logging.getLogger("dialtone.reminder")
CALLEE_JOIN_S = 5.0


class RoomHangUp:
    """Ends the call by deleting the room (drops the SIP leg), unless a human has it."""

    def __init__(self, ctx: JobContext, session: AgentSession) -> None:
        self._ctx = ctx
        self._session = session
        self.agent: ReminderConversation | None = None

    async def hang_up(self, reason: str) -> None:
        logger.info("hanging up", extra={"room": self._ctx.room.name, "reason": reason})
        self._session.shutdown(drain=True)
        await self._ctx.delete_room()

    async def __call__(self) -> None:
        results = self.agent.transfer_results if self.agent is not None else []
        handed_over = any(r.outcome is TransferOutcome.COMPLETED for r in results)
        if handed_over:
            return  # the person talks to a human now; the agent has left
        await self.hang_up("attempt over")


def amd_classifier(settings: Settings) -> llm.LLM:
    """The LLM that labels greetings for AMD: the cloud model first, then phrase rules."""
    if settings.resolved_profile is not Profile.CLOUD:
        return GreetingRules()
    from livekit.plugins import openai

    model = openai.LLM(
        model=settings.llm_model,
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url or None,  # type: ignore[arg-type]
    )
    return llm.FallbackAdapter([model, GreetingRules()])


async def _tap_callee(participant: rtc.RemoteParticipant, ears: CalleeEars) -> None:
    stream = rtc.AudioStream.from_participant(
        participant=participant,
        track_source=rtc.TrackSource.SOURCE_MICROPHONE,
        sample_rate=16000,
    )
    try:
        async for event in stream:
            frame = event.frame
            ears.push(np.frombuffer(frame.data, dtype=np.int16), frame.sample_rate)
    finally:
        await stream.aclose()


async def converse_in_room(
    ctx: JobContext,
    session: AgentSession,
    agent: ReminderConversation,
    amd: AMD,
    *,
    recognize: Recognize | None,
    decided: Callable[[Verdict], None],
    menu_target: str | None = None,
) -> ReportedOutcome:
    """After the answer: who answered (`answer_session`), then what they get."""
    ears = CalleeEars()
    tap: asyncio.Task[None] | None = None
    try:  # answered: the callee is in the room, though our view of it may lag a moment
        callee = await asyncio.wait_for(
            ctx.wait_for_participant(identity=CALLEE_IDENTITY), CALLEE_JOIN_S
        )
        tap = asyncio.create_task(_tap_callee(callee, ears))
    except TimeoutError:
        logger.warning("callee not seen in the room; voicemail waits without a beep")
    closed = asyncio.Event()
    session.on("close", lambda _event: closed.set())
    try:
        verdict = await listen_for_answer(
            session, ears=ears, amd_execute=amd.execute, recognize=recognize, gone=closed
        )
        # Decided before AMD (a cue, the beep): AMD holds the agent's speech until closed.
        await amd.aclose()
        decided(verdict)

        async def beep_gone() -> bool:
            return await ears.beep.wait_out(BEEP_WAIT_S)

        async def conversation() -> None:
            ended = asyncio.ensure_future(agent.ended.wait())
            gone = asyncio.ensure_future(closed.wait())
            # LiveKit ends the SIP leg at max_call_duration; this bound is ours, in case.
            await asyncio.wait(
                {ended, gone},
                timeout=agent.script.max_call_seconds + 30,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for waiter in (ended, gone):
                waiter.cancel()

        async def listen() -> Verdict:
            return await listen_for_answer(
                session, ears=ears, amd_execute=None, recognize=recognize, gone=closed
            )

        hooks = AnswerHooks(
            beep=beep_gone,
            conversation=conversation,
            listen=listen,
            quiet=lambda: far_end_quiet(session),
            menu=lambda again: menu_words(
                session, start_within_s=REPEAT_WITHIN_S if again else 0.0
            ),
            # DTMF to the callee's leg only, never to another SIP participant in the room
            send_keys=keys_to(ctx.room.local_participant, CALLEE_IDENTITY),
        )
        return await after_answer(
            agent,
            verdict,
            hooks,
            greeting_transcribed=bool(verdict.transcript.strip()),
            menu_target=menu_target,
        )
    finally:
        if tap is not None:
            tap.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await tap


async def open_attempt(
    metadata: str,
    settings: Settings,
    *,
    client: httpx.AsyncClient | None = None,
    job_id: str | None = None,
) -> tuple[ReminderJob, Persona, CampaignCallback] | None:
    """The job, its persona and its callback; None when the job cannot run at all.

    Bad metadata has nobody to report to (the store's deadline ends the attempt
    `unknown`). A persona this worker does not have would fail every contact of the
    campaign the same way, so the attempt is reported `failed` and the campaign pauses.
    """
    try:
        job = ReminderJob.from_metadata(metadata)
    except JobError as exc:
        logger.error("reminder job refused: %s", exc)
        return None
    callback = CampaignCallback(
        settings.campaign_api_url,
        job.attempt_id,
        job.callback_token.get_secret_value(),
        job_id=job_id,
        client=client,
    )
    try:
        persona = PersonaBook.load(settings.persona_dir, settings.default_persona).pick(
            requested=job.persona
        )
    except PersonaError as exc:
        reason = f"{exc} on the reminder worker (DIALTONE_PERSONA_DIR); add it, then resume"
        await report(callback, ReportedOutcome(Outcome.FAILED, str(exc), pause_reason=reason))
        return None
    return job, persona, callback


@dataclass
class ReminderCall:
    """One attempt as the agent program sees it: what `open_call` prepared, then the
    parts `reminder_agent` adds around the session the program made."""

    ctx: JobContext
    settings: Settings
    job: ReminderJob
    persona: Persona
    callback: CampaignCallback
    pipeline: Pipeline
    hang_up: RoomHangUp | None = None
    recording: OutboundRecording | None = None
    recorded: bool = False

    @property
    def room_options(self) -> room_io.RoomOptions:
        """The room input/output options of the callee's leg (`DIALTONE_INPUT_FRAME_MS`)."""
        return phone_room_options(
            participant_identity=CALLEE_IDENTITY, frame_ms=self.settings.input_frame_ms
        )

    @property
    def record(self) -> bool | RecordingOptions:
        """`session.start(record=...)`: audio only for a recorded persona, else the
        project's own setting, as livekit-agents defaults to."""
        return AUDIO_ONLY if self.recorded else self.ctx.job.enable_recording


async def place_call(ctx: JobContext, make_agent: MakeReminder) -> None:
    """The whole reminder entrypoint around `make_agent`: what `agents/reminder.py`
    spells out step by step."""
    call = await open_call(ctx)
    if call is None:
        return
    session: AgentSession = AgentSession(**call.pipeline.session_kwargs())
    agent = reminder_agent(call, session, make_agent)
    await session.start(
        agent=agent, room=ctx.room, room_options=call.room_options, record=call.record
    )
    await run_call(call, session, agent)


async def open_call(ctx: JobContext) -> ReminderCall | None:
    """The attempt from the job, the room, the speech pipeline; None: nothing to call."""
    settings = load_settings()
    opened = await open_attempt(ctx.job.metadata, settings, job_id=ctx.job.id)
    if opened is None:
        ctx.shutdown(reason="attempt cannot run")
        return None
    job, persona, callback = opened
    await ctx.connect()
    pipeline = build_pipeline(
        settings,
        persona,
        ctx.proc.userdata["vad"],
        dialogue=ReminderRules,
        phrases=GREETING_PHRASES,
    )
    ctx.add_shutdown_callback(pipeline.aclose)
    return ReminderCall(ctx, settings, job, persona, callback, pipeline)


def reminder_agent(call: ReminderCall, session: AgentSession, make_agent: MakeReminder) -> Agent:
    """The agent `make_agent` builds, with hang-up, transfers and the call record."""
    ctx, settings, job, persona, callback, pipeline = (
        call.ctx,
        call.settings,
        call.job,
        call.persona,
        call.callback,
        call.pipeline,
    )
    transfers = None
    if persona.transfer_targets:
        relays = Relays()  # a private transfer's relay outlives the agent's session
        transfers = make_transfers(
            lk=ctx.api,
            room=ctx.room.name,
            caller_identity=CALLEE_IDENTITY,
            call_id=None,
            leave=JobLeaveControl(ctx, session, relays),
            consult=job_consult_lines(
                room=ctx.room,
                lk=ctx.api,
                caller_identity=CALLEE_IDENTITY,
                settings=settings,
                pipeline=pipeline,
                relays=relays,
            ),
        )
    hang_up = RoomHangUp(ctx, session)
    recording = OutboundRecording(  # the call record; opened when the dial is placed
        ctx,
        session,
        CallStart(
            Direction.OUTBOUND,
            room=ctx.room.name,
            caller_number=job.caller_id,
            called_number=job.phone,
            trunk=job.outbound_trunk,
            persona=persona.name,
            campaign_id=job.campaign_id,
            attempt_id=job.attempt_id,
        ),
        settings=settings,
        participant_identity=CALLEE_IDENTITY,
    )
    pipeline.on_fallback(recording.provider_changed)  # degraded turns in the record
    agent = make_agent(job, persona, hang_up, transfers)
    if not isinstance(agent, ReminderConversation):
        raise TypeError(
            f"{type(agent).__name__} is not a reminder conversation: it needs "
            "deliver, leave_voicemail, greeting_settled, result, script, ended "
            "and transfer_results"
        )
    hang_up.agent = agent
    listen_for_keys(ctx.room, agent)
    if isinstance(agent, OptOutHook):
        agent.on_opt_out = callback.opt_out  # listed at once, apart from the report
    recorded = persona.recording.enabled and settings.record_audio == "keep"
    if recorded and (refused := audio_only_refused(ctx.job)) is not None:
        logger.error(refused, extra={"room": ctx.room.name})
        recorded = False  # make the call unrecorded rather than fail it at session.start
    if recorded:
        keep_job_recording(
            ctx,
            session,
            lambda: recording.recorder.record_id if recording.recorder else None,
            settings,
        )
    call.hang_up, call.recording, call.recorded = hang_up, recording, recorded
    return agent


async def run_call(call: ReminderCall, session: AgentSession, agent: Agent) -> None:
    """After `session.start`: dial, detect voicemail, converse, report, hang up."""
    if not isinstance(agent, ReminderConversation):
        raise TypeError(f"{type(agent).__name__} is not a reminder conversation")
    ctx, settings, job, persona, callback = (
        call.ctx,
        call.settings,
        call.job,
        call.persona,
        call.callback,
    )
    if call.hang_up is None or call.recording is None:
        raise RuntimeError("run_call needs the agent from reminder_agent")
    hang_up, recording = call.hang_up, call.recording
    amd = AMD(
        session,
        llm=amd_classifier(settings),
        participant_identity=CALLEE_IDENTITY,
        ivr_detection=False,
        suppress_compatibility_warning=True,
    )

    async def converse() -> ReportedOutcome:
        # AMD starts once the dial has returned answered: it waits at most 5 s for the
        # callee's audio track, which a long ring without early media would exceed.
        # Its listening starts at `sip.callStatus` "active" either way, so the greeting
        # is still heard from its first frames (barring the setup's few milliseconds).
        async with amd:
            return await converse_in_room(
                ctx,
                session,
                agent,
                amd,
                recognize=stt_recognizer(call.pipeline.stt),
                decided=recording.answer_decided,
                menu_target=menu_target_for(job, persona),
            )

    result = await run_attempt(
        job, persona, callback, recording.sip(ctx.api.sip), converse, hang_up
    )
    await recording.finish(
        None if result is None else result.outcome, "" if result is None else result.detail
    )
    ctx.shutdown(reason="attempt over")


def listen_for_keys(room: rtc.Room, agent: ReminderConversation) -> None:
    """The callee's DTMF keys go to the agent (the opt-out key); nobody else's count."""

    def on_key(event: rtc.SipDTMF) -> None:
        if event.participant is not None and event.participant.identity == CALLEE_IDENTITY:
            agent.on_caller_key(event.digit)

    room.on("sip_dtmf_received", on_key)


def check_reminder_personas(settings: Settings) -> list[Persona]:
    """Load the personas at worker start, so a bad file fails before registering."""
    book = PersonaBook.load(settings.persona_dir, settings.default_persona)
    return list(book.personas.values())
