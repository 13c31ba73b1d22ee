"""Who hears whom in a simulated call: the routing an SFU does, per listener.

A simulated call has no LiveKit, so this model stands in for the one thing a private
transfer depends on: a participant hears the audio published in *its own* room (a SIP
participant is subscribed to every audio track there and the SIP service mixes them onto
the phone line), and nothing from another room; a key pressed on a SIP leg is played to
every *other* SIP leg in the same room. The agent relaying two rooms (`relay`) carries
audio across, never keys. Each listener's ear is a list of what reached it, with the
peak level, so the report can say what the caller and the human actually heard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .phone_audio import Int16Array

#: What a piece of audio was: the agent's brief, a person's voice, hold audio, or the
#: agent's voice in the call room (a line to the caller).
Kind = Literal["brief", "voice", "hold", "agent"]
#: Hold audio is a few pure tones (`telephony/hold.py`); a frame whose power sits this
#: much in those bands is hold audio, anything else is not.
HOLD_BAND_SHARE = 0.9
_HOLD_HZ = (523.25, 659.25, 783.99)
_HOLD_TOLERANCE_HZ = 60.0


@dataclass(frozen=True)
class Heard:
    """One piece of audio that reached one listener's ear."""

    at: float
    seconds: float
    speaker: str
    kind: Kind
    peak: int

    @property
    def peak_dbfs(self) -> float | None:
        """Peak level in dBFS (0 = full scale); None for digital silence."""
        return None if self.peak <= 0 else round(20 * math.log10(self.peak / 32767), 1)


def is_hold_audio(samples: Int16Array, rate: int) -> bool:
    """Whether a frame is hold audio: its power sits in the hold melody's bands."""
    if samples.size < 16:
        return False
    x = samples.astype(np.float64) * np.hanning(samples.size)
    power = np.abs(np.fft.rfft(x)) ** 2
    total = float(power.sum())
    if total <= 0:
        return False
    hz = np.fft.rfftfreq(samples.size, 1 / rate)
    near = np.zeros(hz.size, dtype=bool)
    for tone in _HOLD_HZ:
        near |= np.abs(hz - tone) <= _HOLD_TOLERANCE_HZ
    return float(power[near].sum()) / total >= HOLD_BAND_SHARE


@dataclass
class SimulatedRooms:
    """Rooms, their participants, and what each participant has heard and been keyed."""

    rooms: dict[str, set[str]] = field(default_factory=dict)
    sip: set[str] = field(default_factory=set)
    ears: dict[str, list[Heard]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)
    relays: set[frozenset[str]] = field(default_factory=set)

    def join(self, room: str, identity: str, *, sip: bool = False) -> None:
        self.rooms.setdefault(room, set()).add(identity)
        if sip:
            self.sip.add(identity)
        self.ears.setdefault(identity, [])
        self.keys.setdefault(identity, [])

    def leave(self, room: str, identity: str) -> None:
        self.rooms.get(room, set()).discard(identity)

    def present(self, room: str, identity: str) -> bool:
        return identity in self.rooms.get(room, set())

    def room_of(self, identity: str) -> str | None:
        return next((name for name, who in self.rooms.items() if identity in who), None)

    def relay(self, room_a: str, room_b: str) -> None:
        """The agent relays audio between two rooms from now on (not keys)."""
        self.relays.add(frozenset((room_a, room_b)))

    def _audible(self, room: str) -> set[str]:
        joined = {room} | {other for pair in self.relays if room in pair for other in pair}
        return {who for name in joined for who in self.rooms.get(name, set())}

    def play(
        self,
        room: str,
        speaker: str,
        kind: Kind,
        samples: Int16Array,
        rate: int,
        *,
        at: float,
    ) -> None:
        """`speaker` publishes `samples` in `room`: everyone who can hear it, hears it."""
        if samples.size == 0:
            return
        peak = int(np.max(np.abs(samples.astype(np.int32))))
        seconds = samples.size / rate
        for listener in self._audible(room) - {speaker}:
            self.ears.setdefault(listener, []).append(Heard(at, seconds, speaker, kind, peak))

    def press(self, room: str, speaker: str, digit: str) -> None:
        """A key on `speaker`'s SIP leg: played to every other SIP leg in the same room."""
        for listener in self.rooms.get(room, set()) - {speaker}:
            if listener in self.sip:
                self.keys.setdefault(listener, []).append(digit)
