"""The simulated caller line can hand the agent frames as a LiveKit room does.

A room gives the agent 50 ms frames at the rate its audio input asks for (livekit-agents'
`AudioInputOptions`), not the carrier's 20 ms at 8 kHz: per-frame work in the pipeline
(VAD push and resampling, the session's forwarding, the recogniser's push) scales with
the number of frames, so a simulator on a finer framing charges a call for work a real
one does not do.
"""

from __future__ import annotations

import asyncio

import numpy as np
from livekit import rtc

from dialtone.simulate.call_io import AgentEar, CallerLine
from dialtone.simulate.phone_audio import PHONE_RATE
from dialtone.simulate.recording import CallClock, Recording


async def test_the_line_frames_speech_at_the_rate_and_size_asked_for() -> None:
    clock = CallClock()
    line = CallerLine(clock, Recording(keep=False), sample_rate=16000, frame_seconds=0.05)
    tone = (8000 * np.sin(np.arange(PHONE_RATE // 10) * 0.3)).astype(np.int16)  # 100 ms
    utterance = line.speak(tone, "hello")
    frames = [await line.__anext__() for _ in range(3)]
    assert [(f.sample_rate, f.samples_per_channel) for f in frames] == [(16000, 800)] * 3
    heard = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    assert np.abs(heard[:1600]).max() > 4000 and not heard[1600:].any()
    assert utterance.start is not None and utterance.end is not None
    assert abs((utterance.end - utterance.start) - 0.1) < 1e-6
    assert utterance.done.is_set()


async def test_the_default_line_is_the_carrier_framing() -> None:
    line = CallerLine(CallClock(), Recording(keep=False))
    frame = await line.__anext__()
    assert (frame.sample_rate, frame.samples_per_channel) == (PHONE_RATE, 160)


class CountingClock(CallClock):
    """Counts the ear's scheduling: each count is one wake-up of the event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def deadline_in(self, at: float) -> float:
        self.waits += 1
        return super().deadline_in(at)


async def test_an_idle_ear_waits_for_speech_instead_of_ticking() -> None:
    """A room's speaker costs nothing while the agent is silent; 50 wake-ups a second of
    an idle simulated one were a tenth of a job process's busy loop in the benchmark."""
    clock = CountingClock()
    ear = AgentEar(clock, Recording(keep=False))
    ear.start()
    await asyncio.sleep(0.3)  # silence: an agent that has not spoken yet
    idle_waits = clock.waits
    tone = (8000 * np.sin(np.arange(1600) * 0.3)).astype(np.int16)  # 100 ms at 16 kHz
    await ear.capture_frame(rtc.AudioFrame(tone.tobytes(), 16000, 1, tone.size))
    ear.flush()
    await asyncio.wait_for(ear.wait_for_playout(), 2.0)
    await ear.aclose()
    assert idle_waits <= 2
    assert len(ear.starts) == 1 and ear.stops[0].kind == "finished"
    assert 0.09 <= ear.stops[0].at - ear.starts[0] <= 0.15


class _VirtualClock(CallClock):
    """Call time that jumps: waiting for a deadline moves the clock there at once."""

    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def deadline_in(self, at: float) -> float:
        self.t = max(self.t, at)
        return 0.0


async def _speech_after_a_stall(*, queue_when_late: bool) -> tuple[CallerLine, float]:
    """Half a second of speech, the event loop stalled for a second after its first frame."""
    clock = _VirtualClock()
    line = CallerLine(
        clock,
        Recording(keep=False),
        sample_rate=16000,
        frame_seconds=0.05,
        queue_when_late=queue_when_late,
    )
    utterance = line.speak(np.full(PHONE_RATE // 2, 3000, dtype=np.int16), "hello")
    await line.__anext__()
    clock.t += 1.0  # the loop was busy elsewhere
    while not utterance.done.is_set():
        await line.__anext__()
    assert utterance.start == 0.0 and utterance.end is not None
    return line, utterance.end


async def test_a_late_loop_gets_the_queued_frames_as_a_room_hands_them() -> None:
    """A room queues audio the agent has not read: a late agent must catch up on every
    frame, and the caller stopped talking when they did, not when the agent caught up."""
    line, end = await _speech_after_a_stall(queue_when_late=True)
    assert abs(end - 0.5) < 1e-9
    assert abs(max(line.lags) - 0.95) < 1e-9  # the second frame was due at 0.05 s


async def test_by_default_a_late_line_skips_ahead_like_a_jitter_buffer() -> None:
    _, end = await _speech_after_a_stall(queue_when_late=False)
    assert abs(end - 1.45) < 1e-9  # the rest of the speech came after the stall
