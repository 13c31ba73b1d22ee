"""`dialtone console` with a sound card, through a loopback device in its place: the
caller's voice (espeak-ng) goes in as microphone blocks, the agent's voice is captured
as speaker blocks. Offline profile, real AgentSession, real phone-band line."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import numpy as np
import pytest

from dialtone.config import load_settings
from dialtone.console.call import ConsoleOptions, run_console
from dialtone.console.devices import BLOCK, DEVICE_RATE, OnInput
from dialtone.offline.espeak import synthesize
from dialtone.simulate.phone_audio import Int16Array, trim_silence

pytestmark = pytest.mark.audio

ROOT = Path(__file__).resolve().parents[2]
LOUD = 300.0


class LoopbackDevice:
    """Plays queued caller lines into the microphone in real time; keeps what it hears."""

    def __init__(self, lines: list[Int16Array]) -> None:
        self.lines = lines
        self.played: list[tuple[float, Int16Array]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self, on_input: OnInput) -> None:
        self._task = asyncio.ensure_future(self._talk(on_input))

    def play(self, samples: Int16Array) -> None:
        self.played.append((time.monotonic(), samples))

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def agent_quiet_since(self) -> float | None:
        """When the agent last made a sound, if it has spoken at all."""
        loud = [
            at for at, chunk in self.played if np.sqrt(np.mean(chunk.astype(float) ** 2)) > LOUD
        ]
        return loud[-1] if loud else None

    async def _talk(self, on_input: OnInput) -> None:
        silence = np.zeros(BLOCK, dtype=np.int16)
        pending = list(self.lines)
        speaking: Int16Array | None = None
        heard_before = 0
        next_at = time.monotonic()
        while True:
            last = self.agent_quiet_since()
            quiet = last is not None and time.monotonic() - last > 1.0
            # Once the agent has answered and been quiet for a second: the next line.
            if speaking is None and pending and quiet and len(self.played) > heard_before:
                speaking = pending.pop(0)
            if speaking is not None and speaking.size:
                block, speaking = speaking[:BLOCK], speaking[BLOCK:]
                block = np.pad(block, (0, BLOCK - block.size))
                if not speaking.size:
                    speaking = None
                    heard_before = len(self.played)
            else:
                block = silence
            on_input(block)
            next_at += BLOCK / DEVICE_RATE
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def caller_says(text: str) -> Int16Array:
    voice = await synthesize(text, voice="en-us+f2", speed=0.85, sample_rate=DEVICE_RATE)
    return trim_silence(voice)


async def test_a_spoken_call_through_the_phone_line(tmp_path: Path) -> None:
    device = LoopbackDevice(
        [await caller_says("what are your hours"), await caller_says("no thank you goodbye")]
    )
    out = io.StringIO()
    settings = load_settings(profile="offline", data_dir=tmp_path, persona_dir=ROOT / "personas")
    result = await asyncio.wait_for(
        run_console(settings, options=ConsoleOptions(), out=out, device=device), 120
    )
    screen = out.getvalue()
    assert result.reason == "agent ended the call", screen
    assert "caller: " in screen and "Monday to Friday" in screen
    assert result.outcome == "completed" and result.record_id is not None
    # The speaker got the agent's voice, band-limited as a phone line delivers it.
    heard = np.concatenate([chunk for _, chunk in device.played]).astype(np.float64)
    assert heard.size > DEVICE_RATE * 3
    spectrum = np.abs(np.fft.rfft(heard)) ** 2
    freqs = np.fft.rfftfreq(heard.size, 1 / DEVICE_RATE)
    assert spectrum[freqs > 4000].sum() < 0.01 * spectrum.sum()
