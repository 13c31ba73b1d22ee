"""A simulated outbound reminder call: the scenario's caller plays the callee.

The reminder side is the production one after the dial: the `ReminderAgent`, its tools,
livekit-agents' answering-machine detection (`AMD`, with the offline greeting rules as
its classifier), the beep detector on the callee's audio, and `after_answer`, which
decides voicemail or conversation. What stands in: the dial (the call is "answered" at
once; SIP failures are covered by tests against the LiveKit double) and the campaign
API (the outcome goes into the report instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path

import numpy as np
from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.voice.amd import AMD

from ..config import Settings
from ..outbound.answer_session import (
    CalleeEars,
    far_end_quiet,
    listen_for_answer,
    menu_words,
    stt_recognizer,
)
from ..outbound.answering import Verdict
from ..outbound.attempt import MakeReminder, ReminderConversation, after_answer
from ..outbound.conversation import AnswerHooks
from ..outbound.greeting_phrases import GREETING_PHRASES
from ..outbound.ivr import REPEAT_WITHIN_S
from ..outbound.job import menu_target_for, missing_values
from ..outbound.rules import ReminderRules
from ..outbound.voicemail import BEEP_WAIT_S, GreetingRules
from ..personas import Persona, PersonaBook
from ..pipeline import Pipeline, build_pipeline, load_vad
from ..programs import load_program
from ..records.models import Direction
from ..records.recorder import CallRecorder
from ..records.simulated import RecordFactory, default_factory, note_simulated_end
from ..records.store import CallStart
from ..telephony.sip_status import RECORD_OUTCOME
from ..turn_metrics import TurnMetricsRecorder
from ..voices import check_persona_voice
from ..wire import Outcome, ReminderJob
from .call_io import CallerLine
from .http_context import in_job_http_context
from .menu_far_end import SimulatedMenu, menu_texts
from .phone_audio import PHONE_RATE
from .recording import CallClock, Recording, keep_simulated_recording, recorded
from .report import CallReport
from .runner import CallerSpeech, PipelineFactory, _Call, _synthesize_step
from .scenario import Scenario, Step

BEEP_HZ = 1000.0
BEEP_S = 0.5
BEEP_GAP_S = 0.3


class BeepTappedLine(CallerLine):
    """The callee's line, with every frame also given to the answer detection's ears
    (the beep detector, the early look at a long greeting)."""

    def __init__(self, clock: CallClock, recording: Recording, ears: CalleeEars) -> None:
        super().__init__(clock, recording)
        self.ears = ears

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await super().__anext__()
        self.ears.push(np.frombuffer(frame.data, dtype=np.int16), frame.sample_rate)
        return frame


def with_beep(speech: CallerSpeech) -> CallerSpeech:
    """A voicemail greeting followed by its beep (a 1 kHz tone), as a mailbox plays it."""
    t = np.arange(round(BEEP_S * PHONE_RATE)) / PHONE_RATE
    tone = (6000 * np.sin(2 * np.pi * BEEP_HZ * t)).astype(np.int16)
    gap = np.zeros(round(BEEP_GAP_S * PHONE_RATE), dtype=np.int16)
    return CallerSpeech(np.concatenate([speech.samples, gap, tone]), speech.parts)


def simulated_job(scenario: Scenario, persona: Persona) -> ReminderJob:
    assert scenario.reminder is not None
    return ReminderJob.model_validate(
        {
            "version": 1,
            "kind": "reminder",
            "attempt_id": "0" * 32,
            "attempt_number": 1,
            "campaign_id": "simulated",
            "contact_id": 0,
            "phone": scenario.caller.number,
            "name": scenario.reminder.name,
            "persona": persona.name,
            "variables": dict(scenario.reminder.variables),
            "outbound_trunk": "ST_simulated",
            "caller_id": scenario.caller.dialed or "+15550100100",
            "callback_token": "simulated",
        }
    )


@in_job_http_context
async def simulate_reminder_call(
    scenario: Scenario,
    *,
    settings: Settings,
    out_dir: Path | None = None,
    pipeline_factory: PipelineFactory | None = None,
    record: RecordFactory | None = None,
    record_call: bool = False,
) -> CallReport:
    """Play `scenario` as the callee of a reminder call and return the scored report.

    Like a simulated receptionist call, it leaves a call record (outbound, the simulated
    attempt's ids) in the settings' database, and its stereo recording under that record
    when the persona records (or `record_call`); `record` builds the recorder instead.
    """
    assert scenario.reminder is not None
    book = PersonaBook.load(settings.persona_dir, settings.default_persona)
    persona = book.pick(requested=scenario.persona or "reminder", asked_by="the scenario")
    check_persona_voice(persona, settings)
    if record_call:
        persona = recorded(persona)
    job = simulated_job(scenario, persona)
    missing = missing_values(job, persona)
    profile = "custom" if pipeline_factory is not None else settings.resolved_profile.value
    report = CallReport(scenario=scenario.name, persona=persona.name, profile=profile)
    if missing:
        report.failures.append(f"the scenario's reminder.variables lack {', '.join(missing)}")
        return report
    if pipeline_factory is None:
        vad_model = load_vad()

        def default_factory(p: Persona, _line: CallerLine) -> Pipeline:
            return build_pipeline(
                settings, p, vad_model, dialogue=ReminderRules, phrases=GREETING_PHRASES
            )

        pipeline_factory = default_factory

    audio: list[CallerSpeech | None] = []
    for index, step in enumerate(scenario.steps, 1):
        if step.say is None:
            audio.append(None)
            continue
        speech = await _synthesize_step(step, scenario.caller.voice, scenario.caller.speed)
        audio.append(with_beep(speech) if scenario.reminder.beep_after_step == index else speech)

    menu_audio: dict[str, CallerSpeech] = {}
    if scenario.reminder.menu is not None:
        for text in menu_texts(scenario.reminder.menu):
            menu_audio[text] = await _synthesize_step(
                Step(say=text), scenario.caller.voice, scenario.caller.speed
            )

    ears = CalleeEars()
    call = _Call(
        scenario,
        report,
        record_audio=out_dir is not None or persona.recording.enabled,
        room=f"sim-{scenario.name}",
    )
    call.line = BeepTappedLine(call.clock, call.recording, ears)
    pipeline = pipeline_factory(persona, call.line)
    session: AgentSession = AgentSession(**pipeline.session_kwargs())
    call.attach(session)
    turns = TurnMetricsRecorder(session, call_id=job.attempt_id)
    session.input.audio = call.line
    session.output.audio = call.ear
    call.ear.start()
    make_agent: MakeReminder = load_program("reminder", settings.agents_dir).make_agent
    agent = make_agent(job, persona, call.control, None)
    if not isinstance(agent, ReminderConversation):
        raise TypeError(f"{type(agent).__name__} is not a reminder conversation")
    recorder = await _start_record(record, settings, job, scenario.name)
    recorder.attach(session, turns)
    pipeline.on_fallback(recorder.provider_changed)
    outcome: list[Outcome] = []

    async def beep_gone() -> bool:
        return await ears.beep.wait_out(BEEP_WAIT_S)

    async def conversation() -> None:
        ended = asyncio.ensure_future(agent.ended.wait())
        hung = asyncio.ensure_future(call.control.hung_up.wait())
        gone = asyncio.ensure_future(call.far_end_gone.wait())
        await asyncio.wait({ended, hung, gone}, return_when=asyncio.FIRST_COMPLETED)
        for waiter in (ended, hung, gone):
            waiter.cancel()

    recognize = stt_recognizer(pipeline.stt)
    menu: SimulatedMenu | None = None
    if scenario.reminder.menu is not None:
        menu = SimulatedMenu(
            scenario.reminder.menu,
            menu_audio,
            line=call.line,
            clock=call.clock,
            report=report,
            beep=with_beep(CallerSpeech(np.zeros(0, dtype=np.int16), [])),
        )

    async def listen() -> Verdict:
        return await listen_for_answer(
            session,
            ears=ears,
            amd_execute=None,
            recognize=recognize,
            gone=call.far_end_gone,
            clock=call.clock.now,
        )

    with tempfile.TemporaryDirectory():
        try:
            await session.start(agent=agent, record=False)
            recorder.answered()  # the dial is not simulated: the callee picks up at once
            amd = AMD(
                session,
                llm=GreetingRules(),
                ivr_detection=False,
                suppress_compatibility_warning=True,
            )
            async with amd:

                async def answered() -> None:
                    verdict = await listen_for_answer(
                        session,
                        ears=ears,
                        amd_execute=amd.execute,
                        recognize=recognize,
                        gone=call.far_end_gone,
                        clock=call.clock.now,
                    )
                    await amd.aclose()  # decided before AMD: it holds the agent's speech
                    recorder.answer_decided(verdict.answer.value, verdict.decided_after_s)
                    report.answer = verdict.answer.value
                    if verdict.decided_after_s is not None:
                        report.answer_decided_s = round(verdict.decided_after_s, 2)
                    hooks = AnswerHooks(
                        beep=beep_gone,
                        conversation=conversation,
                        listen=listen,
                        quiet=lambda: far_end_quiet(session),
                        menu=lambda again: menu_words(
                            session, start_within_s=REPEAT_WITHIN_S if again else 0.0
                        ),
                        send_keys=None if menu is None else menu.press,
                    )
                    result = await after_answer(
                        agent,
                        verdict,
                        hooks,
                        greeting_transcribed=bool(verdict.transcript.strip()),
                        menu_target=menu_target_for(job, persona),
                    )
                    outcome.append(result.outcome)
                    report.outcome = result.outcome.value
                    report.outcome_detail = f"{result.detail} (answer: {verdict.by})"
                    if not call.control.hung_up.is_set():
                        await call.control.hang_up("attempt over")

                if menu is not None:
                    menu.start()  # the menu answers; the steps are the person at its end
                talk = asyncio.ensure_future(answered())
                try:
                    await asyncio.wait_for(call.play_script(audio), scenario.max_duration)
                    await asyncio.wait_for(asyncio.shield(talk), scenario.agent_reply_timeout)
                except TimeoutError:
                    report.failures.append(
                        f"the call ran past {scenario.max_duration:.0f}s or never ended"
                    )
                finally:
                    talk.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await talk
        finally:
            report.duration_s = round(call.clock.now(), 2)
            note_simulated_end(recorder, call.control.reason)
            if outcome:
                recorder.set_outcome(RECORD_OUTCOME[outcome[0]], report.outcome_detail)
            call.line.close()
            if menu is not None:
                await menu.aclose()
            with contextlib.suppress(Exception):
                await session.aclose()
            await call.ear.aclose()
            await pipeline.aclose()
            await recorder.finish()

    report.hung_up = call.control.hung_up.is_set()
    report.hang_up_reason = call.control.reason
    call.measure_and_save(out_dir)
    if persona.recording.enabled:
        await keep_simulated_recording(settings, recorder.record_id, call.recording.save)
    call.conclude(out_dir)
    return report


async def _start_record(
    factory: RecordFactory | None, settings: Settings, job: ReminderJob, name: str
) -> CallRecorder:
    """The attempt's call record, as `place_call` opens one for a real dial."""
    recorder = (factory or default_factory(settings))(
        CallStart(
            Direction.OUTBOUND,
            room=f"sim-{name}",
            caller_number=job.caller_id,
            called_number=job.phone,
            trunk="simulated",
            persona=job.persona,
            campaign_id=job.campaign_id,
            attempt_id=job.attempt_id,
        )
    )
    await recorder.start()
    return recorder
