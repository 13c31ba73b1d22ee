"""PocketSphinxSTT on what the call simulator sends: an espeak caller on a G.711 line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from numpy.typing import NDArray

from dialtone.offline.audio import resample
from dialtone.offline.espeak import espeak_available, synthesize
from dialtone.offline.intents import match_intent
from dialtone.offline.stt import PocketSphinxSTT
from dialtone.personas import load_persona

pytestmark = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")

PERSONA = load_persona(Path(__file__).resolve().parents[2] / "personas" / "receptionist.yaml")
INTENTS = {name: intent.examples for name, intent in PERSONA.offline.intents.items()}
CALLER_VOICE = "en-us+m3"


def mulaw_line(pcm: NDArray[np.int16]) -> NDArray[np.int16]:
    """G.711 mu-law encode + decode: 8-bit logarithmic quantisation, as on a phone trunk."""
    mu = 255.0
    x = pcm.astype(np.float64) / 32768.0
    code = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127.0) / 127.0
    out = np.sign(code) * np.expm1(np.abs(code) * np.log1p(mu)) / mu * 32767.0
    line: NDArray[np.int16] = np.clip(out, -32768, 32767).astype(np.int16)
    return line


async def phone_call_audio(text: str) -> rtc.AudioFrame:
    """The caller's words as an 8 kHz mu-law frame, the rate a SIP trunk delivers."""
    pcm = mulaw_line(await synthesize(text, voice=CALLER_VOICE, sample_rate=8000))
    return rtc.AudioFrame(pcm.tobytes(), 8000, 1, pcm.size)


async def test_phone_band_callers_are_understood() -> None:
    cases = {
        "what are your hours": "hours",
        "where are you located": "address",
        "can i leave a message": "message",
        "i want to talk to a human": "transfer",
        "no thank you goodbye": "goodbye",
    }
    recogniser = PocketSphinxSTT(phrases=PERSONA.phrases())
    misses: list[str] = []
    try:
        for said, intent in cases.items():
            event = await recogniser.recognize(await phone_call_audio(said))
            heard = event.alternatives[0]
            assert heard.text == heard.text.lower()
            assert heard.language == "en"
            found = match_intent(heard.text, INTENTS)
            if found is None or found.intent != intent:
                misses.append(f"{said!r} heard as {heard.text!r}")
    finally:
        await recogniser.aclose()
    # Deterministic here, but leave room for another espeak-ng build's prosody.
    assert len(misses) <= 1, misses


async def test_silence_and_stereo_input_are_handled() -> None:
    recogniser = PocketSphinxSTT(phrases=PERSONA.phrases())
    try:
        silent = rtc.AudioFrame(bytes(2 * 4800), 48000, 1, 4800)
        assert (await recogniser.recognize(silent)).alternatives[0].text == ""
        mono = resample(await synthesize("what are your hours", voice="en-us+f2"), 16000, 48000)
        stereo = np.repeat(mono, 2)
        frame = rtc.AudioFrame(stereo.tobytes(), 48000, 2, mono.size)
        assert (await recogniser.recognize(frame)).alternatives[0].text == "what are your hours"
    finally:
        await recogniser.aclose()


async def test_decoding_never_blocks_the_event_loop() -> None:
    sentence = " ".join(PERSONA.phrases()[:8])  # several seconds of speech
    audio = await phone_call_audio(sentence)
    assert audio.duration > 4.0
    recogniser = PocketSphinxSTT(phrases=PERSONA.phrases())
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.02)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    try:
        # The first call also starts the worker and loads the decoder.
        for _ in range(2):
            event = await recogniser.recognize(audio)
            assert event.alternatives[0].text
    finally:
        stop.set()
        await ticking
        await recogniser.aclose()
    assert len(gaps) > 10
    print(f"max event-loop gap {max(gaps) * 1000:.0f} ms over {len(gaps)} ticks")
    assert max(gaps) < 0.5, f"event loop stalled for {max(gaps):.2f} s"
