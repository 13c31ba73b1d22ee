"""The simulated caller line can hand the agent frames as a LiveKit room does.

A room gives the agent 50 ms frames at the rate its audio input asks for (livekit-agents'
`AudioInputOptions`), not the carrier's 20 ms at 8 kHz: per-frame work in the pipeline
(VAD push and resampling, the session's forwarding, the recogniser's push) scales with
the number of frames, so a simulator on a finer framing charges a call for work a real
one does not do.
"""

from __future__ import annotations

import numpy as np

from dialtone.simulate.call_io import CallerLine
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
