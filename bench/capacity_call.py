"""One scripted phone call for `call_capacity.py`: ours (the receptionist) or bare.

Both variants hear the same caller audio on the same simulated line (frames paced in
real time and queued, never skipped, when the agent's loop is late, as a room queues
them: `dialtone.simulate.call_io`), run the same real Silero VAD, and get the
same providers (`capacity_setup.py`: the scripted fakes of `tests/fakes.py`, with or
without a cloud provider's delays): what differs is only what sits between the line and
the providers. Ours is the receptionist agent program with dialtone's phone turn
handling and turn metrics; bare is a plain livekit-agents `AgentSession` and `Agent`
with the framework's default turn handling but VAD turn detection, and the same VAD
tuning.

This module is imported by bare's job processes too, so it imports nothing of dialtone
beyond the simulator's audio I/O (which stands in for the room); ours' modules are
imported where ours builds its call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from livekit.agents import Agent, AgentSession
from livekit.agents.llm import ChatContext

from dialtone.simulate.call_io import FRAME_SECONDS, AgentEar, CallerLine, Utterance
from dialtone.simulate.phone_audio import PHONE_RATE, Int16Array
from dialtone.simulate.recording import CallClock, Recording
from tests.fakes import Reply, last_user_text

if TYPE_CHECKING:
    from dialtone.inbound.call import MakeAgent
    from dialtone.messages.store import MessageStore
    from dialtone.personas import Persona

Variant = Literal["ours", "bare"]
#: How the line hands the agent its audio, (rate, frame seconds): `room` as a LiveKit room
#: does with livekit-agents' default `AudioInputOptions` (24 kHz, 50 ms frames), which is
#: what a real call's pipeline gets; `room16` the same asking the room for 16 kHz (the
#: VAD's and the recognisers' rate, so nothing resamples in Python); `phone` the
#: carrier's own 20 ms at 8 kHz, 2.5 times the frames of a real call's pipeline.
LINES: dict[str, tuple[int, float]] = {
    "room": (24000, 0.05),
    "room16": (16000, 0.05),
    # `room16` in the frames `DIALTONE_INPUT_FRAME_MS` asks the room for
    **{f"room16_{ms}": (16000, ms / 1000) for ms in range(10, 101, 10) if ms != 50},
    "phone": (PHONE_RATE, FRAME_SECONDS),
}
POLL = 0.05
QUIET = 0.5
REPLY_TIMEOUT = 20.0
BARGE_AFTER = 1.0
LONG_REPLY = (
    "Of course. We are open Monday to Friday from eight in the morning to five in the "
    "afternoon, we are at one twenty Maple Street, and parking is free behind the building."
)


@dataclass(frozen=True)
class Line:
    """A caller line of the script; `barge` lines start while the agent is talking."""

    text: str
    barge: bool = False


SCRIPT = (
    Line("what are your hours"),
    Line("tell me everything"),
    Line("sorry is that on tuesday", barge=True),
    Line("okay thank you"),
)


def respond(chat_ctx: ChatContext) -> Reply:
    """The same answers for both variants; no tool calls (bare has no tools)."""
    text = last_user_text(chat_ctx)
    if "everything" in text:
        return Reply(LONG_REPLY)
    if "tuesday" in text:
        return Reply("Yes, Tuesday is fine.")
    if "hours" in text:
        return Reply("We are open Monday to Friday, eight to five.")
    return Reply("Okay.")


class BareAgent(Agent):
    """What a livekit-agents user writes first: instructions and a spoken greeting."""

    def __init__(self, *, instructions: str, greeting: str) -> None:
        super().__init__(instructions=instructions)
        self._greeting = greeting

    async def on_enter(self) -> None:
        self.session.say(self._greeting)


@dataclass
class CallResult:
    """Turn latencies (end of caller speech to first agent audio) and the call's length."""

    latencies_ms: list[float] = field(default_factory=list)
    barge_reactions_ms: list[float] = field(default_factory=list)
    duration_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    # This process's CPU (every thread) when the call came in, when the session had
    # started (the greeting queued) and when the script ended: a call's one-off start-up
    # apart from what each second of it costs, which is what a long call pays.
    cpu_marks_s: dict[str, float] = field(default_factory=dict)
    # Call time of the "answered" mark: the steady part runs from here to `duration_s`.
    answered_s: float = 0.0
    # How late the line handed the agent the caller's frames (the line queues late
    # frames, as a room does, and skips none): p99 and the worst, ms.
    input_lag_p99_ms: float = 0.0
    input_lag_max_ms: float = 0.0


class Providers(Protocol):
    """A call's VAD and providers: dialtone's `Pipeline`, or bare's `BareProviders`."""

    def session_kwargs(self) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


#: Builds one call's providers; given the line and clock so a fake knows what was said.
MakeProviders = Callable[[CallerLine, CallClock], Providers]


@dataclass(frozen=True)
class OursSetup:
    """What only ours needs: the persona, the message store and the agent program."""

    persona: Persona
    messages: MessageStore
    make_agent: MakeAgent


@dataclass(frozen=True)
class CallSetup:
    """What every call of a run shares: the caller's audio and the agent's inputs."""

    variant: Variant
    audio: dict[str, Int16Array]
    instructions: str
    greeting: str
    providers: MakeProviders
    ours: OursSetup | None = None
    line: str = "room16"


class _HangUp:
    """A simulated call's hang-up: the script ends the call, so it is only noted."""

    async def hang_up(self, reason: str) -> None:
        return None

    async def leave(self, reason: str) -> None:
        return None


def _session(setup: CallSetup, providers: Providers, index: int) -> tuple[AgentSession, Agent]:
    session: AgentSession = AgentSession(**providers.session_kwargs())
    if setup.ours is None:
        agent: Agent = BareAgent(instructions=setup.instructions, greeting=setup.greeting)
        return session, agent
    from dialtone.inbound.call import CallContext
    from dialtone.telephony.caller import CallerInfo
    from dialtone.turn_metrics import TurnMetricsRecorder

    caller = CallerInfo(phone_number="+15550100", dialed_number=None, call_id=f"SCL_cap_{index}")
    TurnMetricsRecorder(session, call_id=caller.call_id)
    context = CallContext(
        persona=setup.ours.persona,
        caller=caller,
        room=f"capacity-{index}",
        messages=setup.ours.messages,
        control=_HangUp(),
    )
    return session, setup.ours.make_agent(context)


def _busy(session: AgentSession, ear: AgentEar) -> bool:
    return ear.playing or session.agent_state in ("thinking", "speaking")


async def _wait_reply(session: AgentSession, ear: AgentEar, clock: CallClock, since: float) -> bool:
    """Until the agent has spoken after `since` and then been quiet for `QUIET`."""
    deadline = clock.now() + REPLY_TIMEOUT
    quiet_since: float | None = None
    while clock.now() < deadline:
        if any(start > since for start in ear.starts) and not _busy(session, ear):
            quiet_since = clock.now() if quiet_since is None else quiet_since
            if clock.now() - quiet_since >= QUIET:
                return True
        else:
            quiet_since = None
        await asyncio.sleep(POLL)
    return False


async def _wait_audio(ear: AgentEar, clock: CallClock, since: float) -> bool:
    deadline = clock.now() + REPLY_TIMEOUT
    while clock.now() < deadline:
        if any(start > since for start in ear.starts):
            return True
        await asyncio.sleep(POLL)
    return False


async def run_call(
    setup: CallSetup,
    index: int,
    *,
    before_close: Callable[[CallResult], Awaitable[None]] | None = None,
    cpu_at_entry: float | None = None,
) -> CallResult:
    """Play the script once; a reply that never comes is a failure, not an exception.

    `before_close` gets the measured call after the session ends and before its
    providers close (the production shape reports there and waits until every process's
    CPU has been read, while recogniser workers still live). `cpu_at_entry` is the
    process CPU when the job started, before its set-up (the production shape, where a
    process runs one call); the marks are only meaningful where that holds.
    """
    clock = CallClock()
    recording = Recording(keep=False)
    rate, frame_seconds = LINES[setup.line]
    line = CallerLine(
        clock, recording, sample_rate=rate, frame_seconds=frame_seconds, queue_when_late=True
    )
    ear = AgentEar(clock, recording)
    providers = setup.providers(line, clock)
    session, agent = _session(setup, providers, index)
    session.input.audio, session.output.audio = line, ear
    result = CallResult()
    result.cpu_marks_s["entry"] = cpu_at_entry if cpu_at_entry is not None else time.process_time()
    spoken: list[Utterance] = []
    ear.start()
    try:
        await session.start(agent=agent, record=False)
        result.cpu_marks_s["answered"], result.answered_s = time.process_time(), clock.now()
        last_end = -1.0
        for step in SCRIPT:
            if step.barge:
                waited = await _wait_audio(ear, clock, last_end)
                await asyncio.sleep(BARGE_AFTER)
            else:
                waited = await _wait_reply(session, ear, clock, last_end)
            if not waited:
                result.failures.append(f"no reply before {step.text!r}")
                break
            utterance = line.speak(setup.audio[step.text], step.text)
            await utterance.done.wait()
            spoken.append(utterance)
            last_end = utterance.end or clock.now()
        if not await _wait_reply(session, ear, clock, last_end):
            result.failures.append("no reply to the last line")
    finally:
        result.duration_s = clock.now()
        result.cpu_marks_s["ended"] = time.process_time()
        if line.lags:
            lags = sorted(line.lags)
            result.input_lag_p99_ms = 1000 * lags[int(0.99 * (len(lags) - 1))]
            result.input_lag_max_ms = 1000 * lags[-1]
        line.close()
        await session.aclose()
        await ear.aclose()
        try:
            _measure(result, spoken, ear, barges=[s.barge for s in SCRIPT])
            if before_close is not None:
                await before_close(result)
        finally:
            await providers.aclose()
    return result


def _measure(
    result: CallResult, spoken: list[Utterance], ear: AgentEar, barges: list[bool]
) -> None:
    starts = sorted(ear.starts)
    for index, utterance in enumerate(spoken):
        assert utterance.start is not None and utterance.end is not None
        following = spoken[index + 1].start if index + 1 < len(spoken) else None
        reply = next(
            (s for s in starts if s > utterance.end and (following is None or s < following)),
            None,
        )
        if reply is not None:
            result.latencies_ms.append((reply - utterance.end) * 1000)
        if barges[index]:
            stop = next((s.at for s in ear.stops if s.at >= utterance.start), None)
            if stop is not None:
                result.barge_reactions_ms.append((stop - utterance.start) * 1000)


async def loop_lag(samples: list[float], stop: asyncio.Event, period: float = 0.01) -> None:
    """How late the event loop wakes a 10 ms sleeper: every call's audio waits that long."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(period)
        samples.append(max(0.0, time.monotonic() - before - period) * 1000)
