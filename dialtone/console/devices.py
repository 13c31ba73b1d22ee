"""The sound card behind `dialtone console`, and the seam tests replace it with.

The console needs a microphone and a speaker at 16 kHz; PortAudio (through
sounddevice) converts from whatever the hardware runs at. A machine without a sound
device (a server, a container, CI) gets `NoSoundDevice` with the reason, and the console
falls back to text.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ..simulate.phone_audio import Int16Array

DEVICE_RATE = 16000
BLOCK = 320  # 20 ms at 16 kHz

#: Receives each captured block (16 kHz mono); may be called from the audio thread.
OnInput = Callable[[Int16Array], None]


class NoSoundDevice(Exception):
    """No usable microphone and speaker; the message says why."""


class AudioDevice(Protocol):
    """A microphone and a speaker at `DEVICE_RATE`, mono int16."""

    def start(self, on_input: OnInput) -> None: ...

    def play(self, samples: Int16Array) -> None: ...

    def close(self) -> None: ...


class SoundCard:
    """The default input and output device, through sounddevice (PortAudio)."""

    def __init__(self, sounddevice: Any) -> None:
        self._sd = sounddevice
        self._pending: deque[Int16Array] = deque()
        self._lock = threading.Lock()
        self._streams: list[Any] = []

    def start(self, on_input: OnInput) -> None:
        def captured(indata: Any, _frames: int, _time: Any, _status: Any) -> None:
            on_input(np.array(indata[:, 0], dtype=np.int16))

        common = {"samplerate": DEVICE_RATE, "channels": 1, "dtype": "int16", "blocksize": BLOCK}
        self._streams = [
            self._sd.InputStream(callback=captured, **common),
            self._sd.OutputStream(callback=self._fill, **common),
        ]
        for stream in self._streams:
            stream.start()

    def play(self, samples: Int16Array) -> None:
        with self._lock:
            self._pending.append(samples)

    def _fill(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        out = np.zeros(frames, dtype=np.int16)
        filled = 0
        with self._lock:
            while filled < frames and self._pending:
                head = self._pending[0]
                take = min(head.size, frames - filled)
                out[filled : filled + take] = head[:take]
                filled += take
                if take == head.size:
                    self._pending.popleft()
                else:
                    self._pending[0] = head[take:]
        outdata[:, 0] = out

    def close(self) -> None:
        for stream in self._streams:
            stream.stop()
            stream.close()
        self._streams = []


def open_sound_card() -> SoundCard:
    """The default microphone and speaker, or `NoSoundDevice` saying what is missing."""
    try:
        import sounddevice
    except OSError:
        raise NoSoundDevice("PortAudio is not installed (Debian: libportaudio2)") from None
    try:
        sounddevice.check_input_settings(samplerate=DEVICE_RATE, channels=1, dtype="int16")
        sounddevice.check_output_settings(samplerate=DEVICE_RATE, channels=1, dtype="int16")
    except Exception:  # PortAudioError or ValueError: no default device, or it cannot run
        raise NoSoundDevice("no sound device found") from None
    return SoundCard(sounddevice)
