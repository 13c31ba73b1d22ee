"""What the human's leg says first: real silero VAD segments on synthesized speech,
a recogniser whose words are fixed, and the voicemail rule on the result."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import APIConnectOptions, stt
from livekit.agents.language import LanguageCode
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

from dialtone.offline.espeak import synthesize
from dialtone.pipeline import load_vad
from dialtone.telephony.listen import RATE, transcribe_opening
from dialtone.telephony.transfer import looks_like_voicemail

GREETING = "hi you have reached the front desk please leave a message after the tone"


class FixedWords(stt.STT):
    """Answers every speech segment the VAD hands it with the same words."""

    def __init__(self, words: str) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self.words = words
        self.segments = 0

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        self.segments += 1
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode("en"), text=self.words)],
        )


async def frames(samples: np.ndarray) -> AsyncIterator[rtc.AudioFrame]:
    step = RATE // 50
    for start in range(0, len(samples), step):
        chunk = samples[start : start + step]
        yield rtc.AudioFrame(
            data=chunk.tobytes(), sample_rate=RATE, num_channels=1, samples_per_channel=len(chunk)
        )


@pytest.fixture(scope="module")
def detector():  # type: ignore[no-untyped-def]
    return load_vad()


async def speech(text: str) -> np.ndarray:
    audio = await synthesize(text, sample_rate=RATE)
    silence = np.zeros(RATE, dtype=np.int16)
    return np.concatenate([silence[: RATE // 2], audio.astype(np.int16), silence])


async def test_a_voicemail_greeting_is_heard_as_one(detector) -> None:  # type: ignore[no-untyped-def]
    recognizer = FixedWords(GREETING)
    heard = await transcribe_opening(frames(await speech(GREETING)), recognizer, detector)
    assert recognizer.segments >= 1
    assert looks_like_voicemail(heard)


async def test_a_person_saying_hello_is_not_voicemail(detector) -> None:  # type: ignore[no-untyped-def]
    recognizer = FixedWords("front desk this is maria")
    heard = await transcribe_opening(
        frames(await speech("front desk, this is Maria")), recognizer, detector
    )
    assert heard.startswith("front desk this is maria")
    assert not looks_like_voicemail(heard)


async def test_silence_yields_no_words(detector) -> None:  # type: ignore[no-untyped-def]
    recognizer = FixedWords("never")
    heard = await transcribe_opening(
        frames(np.zeros(RATE * 3, dtype=np.int16)), recognizer, detector
    )
    assert heard == "" and recognizer.segments == 0
