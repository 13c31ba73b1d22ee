"""Run one scenario through the real AgentSession, with no room and no network.

The agent, its tools, the turn handling and the VAD are the production ones; only the
room is replaced by `CallerLine`/`AgentEar`. Caller lines are synthesized before the
call starts, so synthesis time never shows up as caller hesitation.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from livekit.agents import AgentSession
from livekit.agents.llm import ChatMessage
from livekit.agents.voice.events import ConversationItemAddedEvent, FunctionToolsExecutedEvent

from ..call.briefing import reply_judge
from ..call.control import Transfers
from ..config import Settings
from ..inbound.call import CallContext, MakeAgent
from ..inbound.entry import takes_keys
from ..messages.store import message_store
from ..offline.espeak import synthesize
from ..personas import Persona, PersonaBook
from ..pipeline import PHONE_INPUT_RATE, Pipeline, build_pipeline, load_vad
from ..programs import load_program
from ..records.simulated import RecordFactory, note_simulated_end, start_simulated_record
from ..telephony.caller import CallerInfo
from ..telephony.consult import ConsultLine, ConsultLines, ReplyJudge
from ..telephony.transfer import TransferDesk
from ..turn_metrics import TurnMetricsRecorder
from ..voices import check_persona_voice
from .call_io import AGENT_RATE as AGENT_EAR_RATE
from .call_io import AgentEar, CallerLine, Utterance
from .consult import ConsultNotes, SimulatedConsultLine
from .far_end import SimulatedFarEnd
from .http_context import in_job_http_context
from .phone_audio import PHONE_RATE, Int16Array, to_phone_line, trim_silence
from .privacy import measure as measure_privacy
from .recording import CallClock, Recording, keep_simulated_recording, recorded
from .report import BargeIn, CallReport, Line, ToolCall, Turn
from .rooms import Kind, SimulatedRooms, is_hold_audio
from .scenario import Scenario, Step

logger = logging.getLogger("dialtone.simulate")

# Builds the providers for a call; it is given the caller's line so that a test can
# plug in a recogniser that knows what the caller said.
PipelineFactory = Callable[[Persona, CallerLine], Pipeline]
POLL = 0.02
FRAME_S = 0.02
SYNTH_RATE = 16000


class SimulatedCallControl:
    """Hang-up for a simulated call: remember it, and let the runner end the call."""

    def __init__(self) -> None:
        self.hung_up = asyncio.Event()
        self.reason: str | None = None
        self.left_reason: str | None = None

    async def hang_up(self, reason: str) -> None:
        self.reason = reason
        self.hung_up.set()

    async def leave(self, reason: str) -> None:
        """The agent handed the caller to a human and leaves; the call goes on."""
        self.left_reason = reason


@dataclass
class CallerSpeech:
    """One step's audio on the phone line, and where each of its phrases ends."""

    samples: Int16Array
    parts: list[tuple[str, int]]


async def _synthesize_step(step: Step, voice: str, speed: float) -> CallerSpeech:
    """The caller's line on the phone line: parts joined by `pause`, at 8 kHz μ-law."""
    pieces: list[Int16Array] = []
    parts: list[tuple[str, int]] = []
    length = 0
    for index, part in enumerate(step.parts):
        audio = to_phone_line(
            trim_silence(await synthesize(part, voice=voice, speed=speed, sample_rate=SYNTH_RATE)),
            SYNTH_RATE,
        )
        if index:
            gap = np.zeros(round(step.pause * PHONE_RATE), dtype=np.int16)
            pieces.append(gap)
            length += gap.size
        pieces.append(audio)
        length += audio.size
        parts.append((part, length))
    return CallerSpeech(np.concatenate(pieces), parts)


class _Call:
    """The state of one running simulation, shared by the script and the listeners."""

    def __init__(
        self,
        scenario: Scenario,
        report: CallReport,
        *,
        record_audio: bool,
        room: str,
        framing: tuple[int, float] | None = None,
    ) -> None:
        self.scenario = scenario
        self.report = report
        self.clock = CallClock()
        self.recording = Recording(keep=record_audio)
        self.room = room
        # Who hears whom: the caller and the agent's voice are in the call room; a
        # transfer's human joins whichever room the desk dials them into.
        self.rooms = SimulatedRooms()
        self.far_end = SimulatedFarEnd(
            scenario.human, call_room=room, rooms=self.rooms, clock=self.clock
        )
        self.consults: list[ConsultNotes] = []
        if framing is None:
            self.line = CallerLine(self.clock, self.recording)
        else:
            rate, seconds = framing
            self.line = CallerLine(
                self.clock, self.recording, sample_rate=rate, frame_seconds=seconds
            )
        self.ear = AgentEar(self.clock, self.recording, listener=self._agent_sound)
        self.control = SimulatedCallControl()
        #: Set when the far end hangs up (a `hang_up` step).
        self.far_end_gone = asyncio.Event()
        self.spoken: list[tuple[Step, Utterance]] = []

    def _agent_sound(self, chunk: Int16Array) -> None:
        """The agent's voice in the call room (hold audio told apart by its sound)."""
        kind: Kind = "hold" if is_hold_audio(chunk, AGENT_EAR_RATE) else "agent"
        self.rooms.play(self.room, "agent", kind, chunk, AGENT_EAR_RATE, at=self.clock.now())

    def attach(self, session: AgentSession) -> None:
        self.session = session
        session.on("conversation_item_added", self._on_item)
        session.on("function_tools_executed", self._on_tools)

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if isinstance(item, ChatMessage) and item.text_content:
            speaker = "heard" if item.role == "user" else "agent"
            if item.role == "user":
                self.report.caller_turns_heard += 1
            if item.role not in ("user", "assistant"):
                return
            now = self.clock.now()
            text = item.text_content
            at = now
            if item.role == "assistant":
                # The item arrives when the reply has finished; place it where its audio began.
                at = max((start for start in self.ear.starts if start <= now), default=now)
                if item.interrupted:
                    text += " [interrupted]"
            self.report.transcript.append(Line(at, speaker, text))

    def _on_tools(self, event: FunctionToolsExecutedEvent) -> None:
        for call in event.function_calls:
            try:
                arguments = json.loads(call.arguments or "{}")
            except json.JSONDecodeError:
                arguments = {"raw": call.arguments}
            self.report.tool_calls.append(ToolCall(self.clock.now(), call.name, arguments))

    def agent_busy(self) -> bool:
        return self.ear.playing or self.session.agent_state in ("thinking", "speaking")

    async def wait_agent_reply(self, since: float, quiet_for: float) -> bool:
        """Wait until the agent has answered after `since` and gone quiet for `quiet_for`."""
        deadline = self.clock.now() + self.scenario.agent_reply_timeout
        quiet_since: float | None = None
        while self.clock.now() < deadline and not self.control.hung_up.is_set():
            replied = any(start > since for start in self.ear.starts)
            if replied and not self.agent_busy():
                quiet_since = quiet_since if quiet_since is not None else self.clock.now()
                if self.clock.now() - quiet_since >= quiet_for:
                    return True
            else:
                quiet_since = None
            await asyncio.sleep(POLL)
        return self.control.hung_up.is_set()

    async def wait_agent_audio(self, since: float) -> bool:
        deadline = self.clock.now() + self.scenario.agent_reply_timeout
        while self.clock.now() < deadline:
            if any(start > since for start in self.ear.starts):
                return True
            await asyncio.sleep(POLL)
        return False

    async def play_script(self, audio: list[CallerSpeech | None]) -> None:
        last_end = -1.0
        for index, (step, speech) in enumerate(zip(self.scenario.steps, audio, strict=True)):
            if self.control.hung_up.is_set():
                self.report.failures.append(f"step {index + 1} never ran: the call had ended")
                return
            if step.when == "after_agent":
                if not await self.wait_agent_reply(last_end, step.gap):
                    self.report.failures.append(
                        f"step {index + 1}: the agent did not answer within "
                        f"{self.scenario.agent_reply_timeout:.0f}s"
                    )
                    return
            elif step.when == "during_agent":
                if not await self.wait_agent_audio(last_end):
                    self.report.failures.append(f"step {index + 1}: the agent never spoke")
                    return
                await asyncio.sleep(step.offset)
            if step.hang_up:
                self.far_end_gone.set()
                self.report.transcript.append(Line(self.clock.now(), "caller", "(hangs up)"))
                return
            if speech is None:
                await asyncio.sleep(step.silence or 0.0)
                last_end = self.clock.now()
                continue
            text = " ... ".join(step.parts)
            self.rooms.play(
                self.room,
                self.far_end.caller_identity,
                "voice",
                speech.samples,
                PHONE_RATE,
                at=self.clock.now(),
            )
            utterance = self.line.speak(speech.samples, text, speech.parts)
            await utterance.done.wait()
            assert utterance.start is not None and utterance.end is not None
            self.report.transcript.append(Line(utterance.start, "caller", text))
            self.spoken.append((step, utterance))
            last_end = utterance.end
        # Let the agent answer the last line (or hang up) before the call is scored.
        await self.wait_agent_reply(last_end, 1.0)

    def measure_and_save(self, out_dir: Path | None) -> None:
        """Measure the finished call; save its stereo recording under `out_dir` if given."""
        self.measure()
        if out_dir is not None:
            wav = out_dir / f"{self.scenario.name}.wav"
            self.recording.save(wav)
            self.report.recording = str(wav)

    def conclude(self, out_dir: Path | None) -> None:
        """Check the scenario's expectations; write the report as JSON under `out_dir`."""
        self.report.check(self.scenario.expect)
        if out_dir is not None:
            path = out_dir / f"{self.scenario.name}.json"
            path.write_text(self.report.to_json(), encoding="utf-8")

    def measure(self) -> None:
        """Turn latency and barge-in reaction, from what the caller's ear recorded."""
        starts = sorted(self.ear.starts)
        utterances = [u for _, u in self.spoken]
        for index, (step, utt) in enumerate(self.spoken):
            assert utt.start is not None and utt.end is not None
            next_start = utterances[index + 1].start if index + 1 < len(utterances) else None
            reply = next(
                (s for s in starts if s > utt.end and (next_start is None or s < next_start)),
                None,
            )
            latency = None if reply is None else round((reply - utt.end) * 1000, 1)
            self.report.turns.append(Turn(index + 1, utt.text, round(utt.end, 3), latency))
            if step.when == "during_agent":
                stop = next((s.at for s in self.ear.stops if s.at >= utt.start), None)
                reaction = None if stop is None else round((stop - utt.start) * 1000, 1)
                self.report.barge_ins.append(BargeIn(round(utt.start, 3), reaction))
        self.report.false_interruptions_resumed = len(self.ear.resumes)
        if self.spoken:
            last_end = self.spoken[-1][1].end or 0.0
            frames = [t for t in self.ear.frame_times if t > last_end]
            gaps = [b - a - FRAME_S for a, b in itertools.pairwise(frames)]
            self.report.max_agent_gap_s = round(max(gaps, default=0.0), 3) if frames else None


def simulated_desk(
    scenario: Scenario, far_end: SimulatedFarEnd, *, call_id: str | None
) -> TransferDesk:
    """A transfer desk whose far end is the scenario's simulated human (`far_end.py`)."""
    desk = TransferDesk(
        far_end,
        room=far_end.call_room,
        caller_identity=far_end.caller_identity,
        call_id=call_id,
        first_words=far_end.first_words,
    )
    if scenario.at is not None:
        at = scenario.at
        desk.clock = lambda: at
    return desk


def consult_lines(call: _Call, pipeline: Pipeline, judge: ReplyJudge) -> ConsultLines:
    """The desk's consult lines for a simulated call: the brief in the call's TTS voice."""

    async def speak(text: str) -> tuple[Int16Array, int]:
        chunks: list[Int16Array] = []
        rate = AGENT_EAR_RATE
        async with pipeline.tts.synthesize(text) as stream:
            async for event in stream:
                frame = event.frame
                rate = frame.sample_rate
                chunks.append(np.frombuffer(frame.data, dtype=np.int16).copy())
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return samples, rate

    def line(room: str) -> ConsultLine:
        return SimulatedConsultLine(room, call.far_end, speak, judge, call.consults)

    return line


@in_job_http_context
async def simulate_call(
    scenario: Scenario,
    *,
    settings: Settings,
    out_dir: Path | None = None,
    pipeline_factory: PipelineFactory | None = None,
    transfer_desk: TransferDesk | None = None,
    record: RecordFactory | None = None,
    record_call: bool = False,
    room_framing: bool = False,
) -> CallReport:
    """Play `scenario` against the receptionist and return the scored report.

    The caller's audio comes as the carrier's 20 ms frames at 8 kHz, or with
    `room_framing` as a room hands it to dialtone's calls: `PHONE_INPUT_RATE` in
    `DIALTONE_INPUT_FRAME_MS` frames (how a frame size is checked against barge-in).

    The call record and any message go to the settings' database, like a real call's;
    `out_dir` gets the recording and the report; `record` builds the call's recorder
    instead (tests read the record back).

    `record_call` records the call even if the persona does not (see `recorded`).
    With `transfer_desk` (and persona transfer targets) the agent can transfer; hold
    audio goes through the same simulated earpiece, so its gaps are measured.
    """
    book = PersonaBook.load(settings.persona_dir, settings.default_persona)
    persona = book.pick(
        requested=scenario.persona, dialed_number=scenario.caller.dialed, asked_by="the scenario"
    )
    check_persona_voice(persona, settings)
    if record_call:
        persona = recorded(persona)
    profile = "custom" if pipeline_factory is not None else settings.resolved_profile.value
    if pipeline_factory is None:
        vad_model = load_vad()

        def default_factory(p: Persona, _line: CallerLine) -> Pipeline:
            return build_pipeline(settings, p, vad_model)

        pipeline_factory = default_factory
    report = CallReport(scenario=scenario.name, persona=persona.name, profile=profile)

    audio: list[CallerSpeech | None] = []
    for step in scenario.steps:
        audio.append(
            await _synthesize_step(step, scenario.caller.voice, scenario.caller.speed)
            if step.say is not None
            else None
        )

    store = message_store(settings)
    framing = (PHONE_INPUT_RATE, settings.input_frame_ms / 1000) if room_framing else None
    room = f"sim-{scenario.name}"
    call = _Call(
        scenario,
        report,
        record_audio=out_dir is not None or persona.recording.enabled,
        room=room,
        framing=framing,
    )
    pipeline = pipeline_factory(persona, call.line)
    session: AgentSession = AgentSession(**pipeline.session_kwargs())
    call.attach(session)
    caller = CallerInfo(
        phone_number=scenario.caller.number,
        dialed_number=scenario.caller.dialed,
        # Unique per run, as a real SIP call id is: the console links a message to its
        # call by this id, and demo calls pile up in one data directory.
        call_id=f"SCL_sim_{scenario.name}_{uuid.uuid4().hex[:8]}",
    )
    turns = TurnMetricsRecorder(session, call_id=caller.call_id)
    recorder = await start_simulated_record(
        record, settings, room=room, caller=caller, persona=persona.name
    )
    recorder.attach(session, turns)
    pipeline.on_fallback(recorder.provider_changed)
    if transfer_desk is None and persona.transfer_targets:
        transfer_desk = simulated_desk(scenario, call.far_end, call_id=caller.call_id)
    if transfer_desk is not None and transfer_desk.consult is None:
        transfer_desk.consult = consult_lines(call, pipeline, reply_judge(pipeline.llm))
    context = CallContext(
        persona=persona,
        caller=caller,
        room=room,
        messages=store,
        control=call.control,
        transfers=None if transfer_desk is None else Transfers(transfer_desk, call.control),
    )
    session.input.audio = call.line
    session.output.audio = call.ear
    call.ear.start()
    make_agent: MakeAgent = load_program("receptionist", settings.agents_dir).make_agent
    agent = make_agent(context)
    try:
        await session.start(agent=agent, record=False)
        recorder.answered()
        try:
            await asyncio.wait_for(call.play_script(audio), scenario.max_duration)
        except TimeoutError:
            report.failures.append(f"the call ran past {scenario.max_duration:.0f}s")
    finally:
        report.duration_s = round(call.clock.now(), 2)
        note_simulated_end(recorder, call.control.reason)
        call.line.close()
        with contextlib.suppress(Exception):
            await session.aclose()
        await call.ear.aclose()
        await pipeline.aclose()
        await recorder.finish()

    report.hung_up = call.control.hung_up.is_set()
    report.hang_up_reason = call.control.reason
    report.left_call = call.control.left_reason is not None
    if takes_keys(agent):
        consults = iter(call.consults)
        for r in agent.results:
            notes = next(consults, None) if r.mechanism == "consult" else None
            heard = measure_privacy(
                notes or ConsultNotes(room), call.rooms, call.far_end.caller_identity
            )
            report.transfers.append(
                {
                    "target": r.target,
                    "outcome": r.outcome.value,
                    "mechanism": r.mechanism,
                    "sip_status_code": r.sip_status_code,
                    "refer_refused_code": r.refer_refused_code,
                    "detail": r.detail,
                    **heard.as_report(),
                }
            )
    call.measure_and_save(out_dir)
    if persona.recording.enabled:
        await keep_simulated_recording(settings, recorder.record_id, call.recording.save)
    call.conclude(out_dir)
    return report
