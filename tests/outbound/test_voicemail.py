"""Who answered (the greeting rules AMD uses offline) and the beep detector, on real audio."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from dialtone.offline.espeak import synthesize
from dialtone.outbound.voicemail import BeepDetector, classify_greeting, tone_of

RATE = 8000
FRAME = RATE // 50  # 20 ms


@pytest.mark.parametrize(
    ("greeting", "label"),
    [
        ("Hello?", "human"),
        ("Hi, this is Lisa.", "human"),
        ("You've reached Dana. Please leave a message after the beep.", "machine-vm"),
        ("I'm not available right now", "machine-vm"),
        (
            "The person you called has a voice mailbox that has not been set up",
            "machine-unavailable",
        ),
        ("The mailbox is full", "machine-unavailable"),
        ("For appointments press one", "machine-ivr"),
    ],
)
def test_greetings(greeting: str, label: str) -> None:
    assert classify_greeting(greeting) == label


def tone(hz: float, seconds: float, level: int = 8000) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def feed(detector: BeepDetector, audio: np.ndarray) -> None:
    for start in range(0, audio.size - FRAME + 1, FRAME):
        detector.push(audio[start : start + FRAME], RATE)


def test_a_beep_after_a_greeting_is_heard() -> None:
    detector = BeepDetector()
    feed(detector, np.zeros(RATE // 2, dtype=np.int16))
    assert not detector.heard.is_set()
    feed(detector, tone(1000, 0.4))
    assert detector.heard.is_set()
    assert detector.beep_hz is not None and abs(detector.beep_hz - 1000) < 60


async def test_the_message_waits_until_the_beep_is_over() -> None:
    """A mailbox records from the end of its tone: a message started while it still
    sounds loses its first words."""
    detector = BeepDetector()
    feed(detector, tone(1000, 0.4))
    assert detector.heard.is_set() and not detector.over.is_set()
    waiting = asyncio.create_task(detector.wait_out(1.0))
    await asyncio.sleep(0)
    assert not waiting.done()  # heard, but still sounding
    feed(detector, tone(1000, 0.2))
    await asyncio.sleep(0)
    assert not waiting.done()
    feed(detector, np.zeros(RATE // 10, dtype=np.int16))
    assert await asyncio.wait_for(waiting, 5) is True
    assert detector.over.is_set()


async def test_no_beep_is_not_waited_out() -> None:
    detector = BeepDetector()
    assert await detector.wait_out(0.01) is False


def test_a_click_is_not_a_beep() -> None:
    detector = BeepDetector()
    feed(detector, tone(1000, 0.06))
    assert not detector.heard.is_set()


async def test_speech_and_noise_are_not_beeps() -> None:
    speech = await synthesize(
        "Hi, you have reached Dana. I can't take your call right now.", sample_rate=RATE
    )
    rng = np.random.default_rng(7)
    noise = (3000 * rng.standard_normal(RATE)).astype(np.int16)
    detector = BeepDetector()
    feed(detector, np.asarray(speech, dtype=np.int16))
    feed(detector, noise)
    assert not detector.heard.is_set()


def test_tone_of_silence_is_none() -> None:
    assert tone_of(np.zeros(FRAME, dtype=np.int16), RATE) is None
