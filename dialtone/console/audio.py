"""The console's audio path: a sound card in place of the SIP leg.

What the microphone hears goes to the agent as a phone line would deliver it (8 kHz,
band-limited, μ-law), and the agent's voice comes back through the same line, so the
console sounds like the call a caller gets; `wideband` skips the line and passes 16 kHz
both ways. Playback is the simulator's earpiece (`AgentEar`): pause, resume and clear
behave exactly as in a simulated call, so barge-in works the same way.
"""

from __future__ import annotations

import asyncio

from livekit import rtc
from livekit.agents.voice import io

from ..simulate.call_io import AgentEar
from ..simulate.phone_audio import PHONE_RATE, Int16Array, PhoneBandStream
from ..simulate.recording import CallClock, Recording
from .devices import DEVICE_RATE, AudioDevice


class Microphone(io.AudioInput):
    """The device's captured blocks as the agent's audio input."""

    def __init__(self, *, wideband: bool) -> None:
        super().__init__(label="console-microphone")
        self._band = None if wideband else PhoneBandStream()
        self._rate = DEVICE_RATE if wideband else PHONE_RATE
        self._queue: asyncio.Queue[Int16Array | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()

    def feed(self, samples: Int16Array) -> None:
        """A captured 16 kHz block; safe to call from the audio thread."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, samples)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def __anext__(self) -> rtc.AudioFrame:
        samples = await self._queue.get()
        if samples is None:
            raise StopAsyncIteration
        if self._band is not None:
            samples = self._band.narrow(samples)
        return rtc.AudioFrame(
            data=samples.tobytes(),
            sample_rate=self._rate,
            num_channels=1,
            samples_per_channel=samples.size,
        )


class DeviceLine:
    """Connects a device to a session: its microphone input and its earpiece output."""

    def __init__(self, device: AudioDevice, *, wideband: bool) -> None:
        self.device = device
        self.microphone = Microphone(wideband=wideband)
        self._band = None if wideband else PhoneBandStream()
        self.ear = AgentEar(CallClock(), Recording(keep=False), listener=self._to_speaker)

    def _to_speaker(self, chunk: Int16Array) -> None:
        if self._band is not None:
            chunk = self._band.widen(self._band.narrow(chunk))
        self.device.play(chunk)

    def start(self) -> None:
        self.device.start(self.microphone.feed)
        self.ear.start()

    async def aclose(self) -> None:
        self.microphone.close()
        await self.ear.aclose()
        self.device.close()
