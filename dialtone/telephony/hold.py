"""Hold audio: a soft synthesized melody, so a caller on hold never hears silence.

Synthesized here (no files to ship or download): a slow four-note loop of sine tones
with short fades, at a low level. Frames are 20 ms, the unit an agent's audio output
plays, and the generator never ends: whoever plays it stops it.

It paces itself to real time (at most `LEAD_S` ahead of the wall clock). An endless
source must: a room's audio source pushes back when its buffer is full, but not every
audio output does (the simulator's does not), and an unpaced endless generator would be
drained as fast as the CPU allows, filling memory until the caller is taken off hold.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
from livekit import rtc
from livekit.agents import Agent
from livekit.agents.voice.speech_handle import SpeechHandle

SAMPLE_RATE = 24000
FRAME_MS = 20
NOTE_S = 0.6
LEVEL = 0.12
LEAD_S = 0.3
MELODY_HZ = (523.25, 659.25, 783.99, 659.25)  # C5 E5 G5 E5


def melody_samples() -> np.ndarray:
    """One loop of the melody as int16 samples."""
    n = int(SAMPLE_RATE * NOTE_S)
    t = np.arange(n) / SAMPLE_RATE
    fade = np.minimum(1.0, np.minimum(t, NOTE_S - t) / 0.05)
    notes = [np.sin(2 * np.pi * hz * t) * fade for hz in MELODY_HZ]
    loop = np.concatenate(notes) * LEVEL * 32767
    return loop.astype(np.int16)


async def hold_music() -> AsyncIterator[rtc.AudioFrame]:
    """20 ms frames of the hold melody, looping until the consumer stops."""
    loop = melody_samples()
    per_frame = SAMPLE_RATE * FRAME_MS // 1000
    position = 0
    started = time.monotonic()
    sent_s = 0.0
    while True:
        ahead = sent_s - (time.monotonic() - started)
        if ahead > LEAD_S:
            await asyncio.sleep(ahead - LEAD_S)
        sent_s += FRAME_MS / 1000
        chunk = np.take(loop, range(position, position + per_frame), mode="wrap")
        position = (position + per_frame) % len(loop)
        yield rtc.AudioFrame(
            data=chunk.tobytes(),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
            samples_per_channel=per_frame,
        )


class HoldLine:
    """The caller's side of a transfer for one agent: hold audio, spoken lines, the wait.

    Both the receptionist and the reminder implement the transfer desk's `CallSide` with
    this. Hold audio is played as an uninterruptible `say` on the agent's own output (so it
    is recorded and tested like speech), and the caller's audio input is switched off for
    the hold so talking over the music starts no agent turn; `stop` restores the input as
    it was. `session` is read when used, because an Agent has no session until it runs.
    """

    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self._music: SpeechHandle | None = None
        self._input_was_on: bool | None = None
        self.last_said: SpeechHandle | None = None

    def start(self) -> None:
        session = self._agent.session
        if session.input.audio is not None:
            self._input_was_on = session.input.audio_enabled
            session.input.set_audio_enabled(False)
        self._music = session.say(
            "", audio=hold_music(), allow_interruptions=False, add_to_chat_ctx=False
        )

    def stop(self) -> None:
        if self._music is not None:
            self._music.interrupt(force=True)
            self._music = None
        if self._input_was_on is not None:
            self._agent.session.input.set_audio_enabled(self._input_was_on)
            self._input_was_on = None

    def say(self, text: str) -> None:
        """Speak one line to everyone on the call (the brief, or a sentence to the caller)."""
        self.last_said = self._agent.session.say(
            text, allow_interruptions=False, add_to_chat_ctx=False
        )

    async def spoken(self) -> None:
        """Wait until the last line said has played out (before the agent leaves)."""
        if self.last_said is not None:
            await self.last_said.wait_for_playout()


class OnHold:
    """The hold half of the transfer desk's `CallSide`, for an agent that has a `HoldLine`.

    Mixed into the receptionist and the reminder agent so both put a caller on hold,
    speak to them and take them off hold the same way; each keeps its own `leave`,
    because what the agent does after a handover differs.
    """

    _line: HoldLine

    async def start_hold(self) -> None:
        self._line.start()

    async def stop_hold(self) -> None:
        self._line.stop()

    async def say(self, text: str) -> None:
        self._line.say(text)
