"""The call's clock and its two-channel recording (caller left, agent right).

Both directions are written at the call time their audio was heard, so silences, talk
over and gaps are in the file exactly where a listener on the line would hear them.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..config import Settings
from ..personas import Persona
from ..records.audio import keep_recording
from .phone_audio import Int16Array, interpolate

RECORDING_RATE = 16000


class CallClock:
    """Seconds since the call started, on the monotonic clock."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start

    def deadline_in(self, at: float) -> float:
        """Seconds to wait until call time `at` (0 when it has passed)."""
        return max(0.0, at - self.now())


class Track:
    """One channel, grown as audio arrives; a write lands at its call time.

    With `keep=False` writes are dropped: a call nobody records would otherwise hold
    every 20 ms of its audio in memory (about 4 MB a minute) until it ends.
    """

    def __init__(self, *, keep: bool = True) -> None:
        self._chunks: list[tuple[int, Int16Array]] = []
        self._keep = keep

    def write(self, at: float, samples: Int16Array, sample_rate: int) -> None:
        if self._keep and samples.size:
            data = interpolate(samples, sample_rate, RECORDING_RATE)
            self._chunks.append((round(at * RECORDING_RATE), data))

    def render(self, length: int) -> Int16Array:
        out = np.zeros(length, dtype=np.int32)
        for offset, data in self._chunks:
            end = min(length, offset + data.size)
            if end > offset:
                out[offset:end] += data[: end - offset]
        return np.clip(out, -32768, 32767).astype(np.int16)

    @property
    def end(self) -> int:
        return max((offset + data.size for offset, data in self._chunks), default=0)


class Recording:
    """Caller and agent tracks of one simulated call (`keep=False`: nothing is kept)."""

    def __init__(self, *, keep: bool = True) -> None:
        self.caller = Track(keep=keep)
        self.agent = Track(keep=keep)

    def save(self, path: Path) -> None:
        length = max(self.caller.end, self.agent.end)
        stereo = np.stack([self.caller.render(length), self.agent.render(length)], axis=1)
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(RECORDING_RATE)
            out.writeframes(stereo.astype("<i2").tobytes())


async def keep_simulated_recording(
    settings: Settings, record_id: str | None, save: Callable[[Path], None]
) -> bool:
    """Store the call's stereo WAV as its record's recording, like a real call's."""

    def write_and_keep() -> bool:
        with tempfile.TemporaryDirectory(prefix="dialtone-recording-") as folder:
            wav = Path(folder) / "call.wav"
            save(wav)
            return keep_recording(settings, record_id, wav)

    return await asyncio.to_thread(write_and_keep)


def recorded(persona: Persona) -> Persona:
    """`persona` as if its YAML said `recording: {enabled: true}`: the call announces
    the recording first and keeps it, like a recorded real call (`dialtone run`'s demo)."""
    if persona.recording.enabled:
        return persona
    recording = persona.recording.model_copy(update={"enabled": True})
    return persona.model_copy(update={"recording": recording})
