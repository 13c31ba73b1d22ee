"""Audio input and output of a simulated call, plugged into a real AgentSession.

`CallerLine` is the agent's microphone: 20 ms frames of 8 kHz phone audio paced in real
time, silence unless the script queued caller speech; or, asked for, the framing a
LiveKit room hands the agent (livekit-agents' `AudioInputOptions`: 50 ms frames at the
rate the session's input asks for), the phone audio resampled once per utterance.
`AgentEar` is the agent's speaker: it plays what the agent says in real time, honours
pause/resume/clear exactly as the framework asks (that is how barge-in and
false-interruption resume work), and records when audio started and stopped so the
report can measure latency and barge-in.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc
from livekit.agents.voice import io

from ..offline.audio import resample
from .phone_audio import PHONE_RATE, Int16Array, interpolate
from .recording import CallClock, Recording

FRAME_SECONDS = 0.02
AGENT_RATE = 16000
# A late event loop must not make the line burst frames to catch up: past this lag the
# schedule is reset, which is what a jitter buffer does on a real call.
MAX_LAG = 0.2


@dataclass
class Utterance:
    """A caller line queued on the phone; start/end are call times once played."""

    samples: Int16Array
    text: str
    parts: list[tuple[str, int]] = field(default_factory=list)  # (words, end sample)
    start: float | None = None
    end: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class CallerLine(io.AudioInput):
    """The caller's side of the line as the agent hears it.

    A frame is handed over when its first sample is due, so a turn's measured latency
    can be short by up to one frame; per-frame work is the same whatever the rate.

    When the event loop is late, by default the line skips ahead past `MAX_LAG` (a
    jitter buffer's reset: the simulator's calls stay in real time). With
    `queue_when_late` it skips nothing: every frame is handed over, late ones at once,
    as a LiveKit room's audio stream queues what the agent has not read yet; a
    benchmark then cannot make an overloaded agent do less work. `lags` keeps how late
    each frame was handed over (seconds).
    """

    def __init__(
        self,
        clock: CallClock,
        recording: Recording,
        *,
        sample_rate: int = PHONE_RATE,
        frame_seconds: float = FRAME_SECONDS,
        queue_when_late: bool = False,
    ) -> None:
        super().__init__(label="simulated-caller")
        self._queue_when_late = queue_when_late
        self.lags: list[float] = []
        self._clock = clock
        self._recording = recording
        self._rate = sample_rate
        self._frame_seconds = frame_seconds
        self._frame_samples = round(sample_rate * frame_seconds)
        # Silence is most of a call: one frame of it, handed out again and again.
        self._silence = np.zeros(self._frame_samples, dtype=np.int16).tobytes()
        self._queue: deque[Utterance] = deque()
        self._offset = 0
        self._next_at = clock.now()
        self._closed = False
        self.utterances: list[Utterance] = []
        self.heard_parts: list[tuple[float, str]] = []

    def speak(
        self, samples: Int16Array, text: str, parts: list[tuple[str, int]] | None = None
    ) -> Utterance:
        """Queue 8 kHz speech; it plays after anything already queued.

        `parts` marks where each spoken phrase ends (in 8 kHz samples), so that a test's
        scripted recogniser can know which words have actually been heard so far.
        """
        parts = parts or [(text, samples.size)]
        if self._rate != PHONE_RATE:
            parts = [(words, end * self._rate // PHONE_RATE) for words, end in parts]
            samples = resample(samples, PHONE_RATE, self._rate)  # band-limited, once
        utterance = Utterance(samples=samples, text=text, parts=parts)
        self._queue.append(utterance)
        self.utterances.append(utterance)
        return utterance

    @property
    def speaking(self) -> bool:
        return bool(self._queue)

    def close(self) -> None:
        self._closed = True

    async def __anext__(self) -> rtc.AudioFrame:
        if self._closed:
            raise StopAsyncIteration
        await asyncio.sleep(self._clock.deadline_in(self._next_at))
        lag = self._clock.now() - self._next_at
        self.lags.append(max(0.0, lag))
        if lag > MAX_LAG and not self._queue_when_late:
            self._next_at = self._clock.now()
        at = self._next_at
        self._next_at += self._frame_seconds
        data = self._silence
        if self._queue:
            frame = self._take(self._frame_samples, at)
            self._recording.caller.write(at, frame, self._rate)
            data = frame.tobytes()
        return rtc.AudioFrame(
            data=data,
            sample_rate=self._rate,
            num_channels=1,
            samples_per_channel=self._frame_samples,
        )

    def _take(self, count: int, at: float) -> Int16Array:
        out = np.zeros(count, dtype=np.int16)
        filled = 0
        while filled < count and self._queue:
            current = self._queue[0]
            if current.start is None:
                current.start = at + filled / self._rate
            chunk = current.samples[self._offset : self._offset + count - filled]
            out[filled : filled + chunk.size] = chunk
            filled += chunk.size
            for words, end in current.parts:
                if self._offset < end <= self._offset + chunk.size:
                    self.heard_parts.append((at + filled / self._rate, words))
            self._offset += chunk.size
            if self._offset >= current.samples.size:
                current.end = at + filled / self._rate
                current.done.set()
                self._queue.popleft()
                self._offset = 0
        return out


@dataclass
class _Segment:
    """One flushed-or-flushing piece of agent speech."""

    chunks: deque[Int16Array] = field(default_factory=deque)
    flushed: bool = False
    started: bool = False
    reported: bool = False
    played: float = 0.0

    def take(self, count: int) -> Int16Array:
        parts: list[Int16Array] = []
        needed = count
        while needed and self.chunks:
            head = self.chunks[0]
            if head.size <= needed:
                parts.append(self.chunks.popleft())
                needed -= head.size
            else:
                parts.append(head[:needed])
                self.chunks[0] = head[needed:]
                needed = 0
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


@dataclass
class AudioStop:
    at: float
    kind: str  # "finished" | "paused" | "cleared"


class AgentEar(io.AudioOutput):
    """The caller's earpiece: plays agent audio in real time and notes what happened.

    `listener` hears each 20 ms of played audio (16 kHz) as the caller would: the
    console sends it to a speaker.
    """

    def __init__(
        self,
        clock: CallClock,
        recording: Recording,
        *,
        listener: Callable[[Int16Array], None] | None = None,
    ) -> None:
        super().__init__(
            label="simulated-phone",
            capabilities=io.AudioOutputCapabilities(pause=True),
            sample_rate=AGENT_RATE,
        )
        self._clock = clock
        self._recording = recording
        self._listener = listener
        self._segments: deque[_Segment] = deque()
        self._capturing: _Segment | None = None
        self._paused = False
        # Set when there may be something to play: an idle ear waits on it rather than
        # waking the loop every 20 ms, as a room's speaker costs nothing in silence.
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.starts: list[float] = []
        self.stops: list[AudioStop] = []
        self.resumes: list[float] = []
        self.frame_times: list[float] = []

    def start(self) -> None:
        self._task = asyncio.create_task(self._playout(), name="simulated-playout")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def playing(self) -> bool:
        """True while the caller hears (or is about to hear) agent speech."""
        return not self._paused and any(seg.chunks or not seg.flushed for seg in self._segments)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._capturing is None:
            self._capturing = _Segment()
            self._segments.append(self._capturing)
        if self._capturing.reported:
            return  # cleared while still being generated: drop the rest
        samples = np.frombuffer(frame.data, dtype=np.int16).copy()
        if frame.num_channels > 1:
            samples = samples[:: frame.num_channels]
        if frame.sample_rate != AGENT_RATE:
            samples = interpolate(samples, frame.sample_rate, AGENT_RATE)
        self._capturing.chunks.append(samples)
        self._wake.set()

    def flush(self) -> None:
        super().flush()
        if self._capturing is not None:
            self._capturing.flushed = True
            self._capturing = None

    def clear_buffer(self) -> None:
        was_playing = any(seg.started and not seg.reported for seg in self._segments)
        for seg in list(self._segments):
            if not seg.reported:
                seg.reported = True
                seg.chunks.clear()
                self.on_playback_finished(playback_position=seg.played, interrupted=True)
        self._segments.clear()
        if was_playing and not self._paused:
            self.stops.append(AudioStop(self._clock.now(), "cleared"))
        self._paused = False

    def pause(self) -> None:
        if not self._paused and self.playing:
            self.stops.append(AudioStop(self._clock.now(), "paused"))
        self._paused = True

    def resume(self) -> None:
        if self._paused:
            self.resumes.append(self._clock.now())
        self._paused = False
        self._wake.set()

    async def _playout(self) -> None:
        step = round(AGENT_RATE * FRAME_SECONDS)
        next_at = self._clock.now()
        while True:
            if not self._segments or self._paused:
                self._wake.clear()
                await self._wake.wait()
                next_at = self._clock.now()
                continue
            await asyncio.sleep(self._clock.deadline_in(next_at))
            if self._clock.now() - next_at > MAX_LAG:
                next_at = self._clock.now()
            if self._segments and not self._paused:
                self._play(self._segments[0], next_at, step)
            next_at += FRAME_SECONDS

    def _play(self, seg: _Segment, at: float, step: int) -> None:
        chunk = seg.take(step)
        if chunk.size:
            if not seg.started:
                seg.started = True
                self.starts.append(at)
                self.on_playback_started(created_at=time.time())
            self._recording.agent.write(at, chunk, AGENT_RATE)
            if self._listener is not None:
                self._listener(chunk)
            self.frame_times.append(at)
            seg.played += chunk.size / AGENT_RATE
        elif seg.flushed:
            self._segments.popleft()
            if not seg.reported:
                seg.reported = True
                if seg.started:
                    self.stops.append(AudioStop(at, "finished"))
                self.on_playback_finished(playback_position=seg.played, interrupted=False)
