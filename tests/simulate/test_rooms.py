"""The simulated call's routing model and the privacy figures read from it."""

from __future__ import annotations

import numpy as np

from dialtone.simulate.consult import ConsultNotes
from dialtone.simulate.privacy import measure
from dialtone.simulate.rooms import SimulatedRooms, is_hold_audio
from dialtone.telephony.hold import SAMPLE_RATE, melody_samples

RATE = 16000


def tone(hz: float, seconds: float = 0.02, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * hz * t) * level * 32767).astype(np.int16)


def noise(seconds: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (rng.standard_normal(int(RATE * seconds)) * 3000).astype(np.int16)


def test_hold_melody_frames_are_hold_audio() -> None:
    loop = melody_samples()
    step = SAMPLE_RATE // 50
    # frames from the middle of each note (the fades are quiet either way)
    for start in range(step * 5, loop.size - step, SAMPLE_RATE * 6 // 10):
        assert is_hold_audio(loop[start : start + step], SAMPLE_RATE)


def test_speech_like_audio_is_not_hold_audio() -> None:
    assert not is_hold_audio(noise(), RATE)
    assert not is_hold_audio(tone(1000), RATE)
    assert not is_hold_audio(np.zeros(320, dtype=np.int16), RATE)


def test_listeners_hear_their_own_room_only_until_relayed() -> None:
    rooms = SimulatedRooms()
    rooms.join("call", "caller", sip=True)
    rooms.join("consult", "human", sip=True)
    rooms.join("consult", "agent")
    rooms.play("consult", "human", "voice", tone(300), RATE, at=1.0)
    assert rooms.ears["caller"] == []
    assert [h.speaker for h in rooms.ears["agent"]] == ["human"]
    rooms.relay("call", "consult")
    rooms.play("consult", "human", "voice", tone(300), RATE, at=2.0)
    assert [h.at for h in rooms.ears["caller"]] == [2.0]


def test_keys_reach_other_sip_legs_of_the_room_and_never_cross_a_relay() -> None:
    rooms = SimulatedRooms()
    rooms.join("call", "caller", sip=True)
    rooms.join("consult", "human", sip=True)
    rooms.join("consult", "agent")
    rooms.relay("call", "consult")
    rooms.press("consult", "human", "1")
    assert rooms.keys["caller"] == [] and rooms.keys["agent"] == []


def _consult_rooms() -> SimulatedRooms:
    rooms = SimulatedRooms()
    rooms.join("call", "caller", sip=True)
    rooms.join("consult", "agent")
    return rooms


def test_private_consult_measures_as_private() -> None:
    rooms = _consult_rooms()
    rooms.join("consult", "human", sip=True)
    rooms.play("consult", "human", "voice", tone(300, 0.5), RATE, at=1.0)
    rooms.play("consult", "agent", "brief", tone(400, 2.0), RATE, at=2.0)
    rooms.play("call", "agent", "hold", tone(523.25, 2.0), RATE, at=2.0)
    notes = ConsultNotes("consult", human="human", brief_start=2.0, brief_end=4.0, accepted_at=5)
    figures = measure(notes, rooms, "caller")
    assert figures.brief_to_human_ms == 2000.0
    assert figures.brief_to_caller_dbfs is None
    assert figures.human_to_caller_before_accept_ms == 0


def test_a_human_in_the_callers_room_is_measured_as_heard() -> None:
    # What the announced bridge did: the human's "hello" and the brief in the caller's room.
    rooms = _consult_rooms()
    rooms.join("call", "human", sip=True)
    rooms.join("call", "agent")
    rooms.play("call", "human", "voice", tone(300, 0.5), RATE, at=1.0)
    rooms.play("call", "agent", "brief", tone(400, 2.0, level=0.5), RATE, at=2.0)
    notes = ConsultNotes("call", human="human", brief_start=2.0, brief_end=4.0, accepted_at=5)
    figures = measure(notes, rooms, "caller")
    assert figures.human_to_caller_before_accept_ms == 500.0
    assert figures.brief_to_caller_dbfs is not None and figures.brief_to_caller_dbfs > -10


def test_human_heard_after_acceptance_is_not_counted() -> None:
    rooms = _consult_rooms()
    rooms.join("call", "human", sip=True)
    rooms.play("call", "human", "voice", tone(300, 1.0), RATE, at=4.5)
    notes = ConsultNotes("consult", human="human", accepted_at=5.0)
    assert measure(notes, rooms, "caller").human_to_caller_before_accept_ms == 500.0


def test_a_caller_talking_on_hold_is_not_heard_by_the_human_in_consult() -> None:
    rooms = _consult_rooms()
    rooms.join("consult", "human", sip=True)
    rooms.play("call", "caller", "voice", tone(300, 1.0), RATE, at=3.0)
    notes = ConsultNotes("consult", human="human", accepted_at=5.0)
    assert measure(notes, rooms, "caller").caller_to_human_before_accept_ms == 0
    rooms.relay("call", "consult")
    rooms.play("call", "caller", "voice", tone(300, 1.0), RATE, at=4.5)  # a relay too early
    assert measure(notes, rooms, "caller").caller_to_human_before_accept_ms == 500.0
