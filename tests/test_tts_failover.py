"""The voice chain's first-audio deadline: a silent voice hands over to the next one."""

from __future__ import annotations

import asyncio
import uuid

from livekit.agents import APIConnectOptions, tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

from dialtone.tts_failover import DeadlineFallbackTTS
from tests.fakes import ToneTTS

TEXT = "Hello there."
# A guard against a test that hangs, never a condition of passing.
GUARD_S = 10.0


class SilentTTS(tts.TTS):
    """A voice whose server accepts every request and never sends audio."""

    def __init__(self) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False), sample_rate=16000, num_channels=1
        )
        self.asked = 0

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        self.asked += 1
        return _Silent(tts=self, input_text=text, conn_options=conn_options)


class _Silent(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=uuid.uuid4().hex, sample_rate=16000, num_channels=1, mime_type="audio/pcm"
        )
        await asyncio.Event().wait()


async def _speak(chain: tts.TTS) -> float:
    """Seconds of audio the chain said for `TEXT`."""

    async def run() -> float:
        async with chain.synthesize(TEXT) as stream:
            return sum([audio.frame.duration async for audio in stream])

    return await asyncio.wait_for(run(), GUARD_S)


async def test_a_voice_that_stays_silent_hands_over_after_its_deadline() -> None:
    silent, local = SilentTTS(), ToneTTS()
    chain = DeadlineFallbackTTS([silent, local], first_audio={silent: 0.2})
    changes: list[tuple[tts.TTS, bool]] = []
    chain.on("tts_availability_changed", lambda e: changes.append((e.tts, e.available)))
    try:
        said = await _speak(chain)
    finally:
        await chain.aclose()
    assert said > 0.5  # the local voice said it
    assert changes == [(silent, False)]
    assert silent.asked == 2  # the attempt, then the chain's recovery probe on the side


async def test_a_silent_attempt_is_tried_again_as_often_as_the_chain_retries() -> None:
    silent, local = SilentTTS(), ToneTTS()
    chain = DeadlineFallbackTTS(
        [silent, local], first_audio={silent: 0.1}, max_retry_per_tts=1, retry_interval=0.0
    )
    try:
        assert await _speak(chain) > 0.5
    finally:
        await chain.aclose()
    assert silent.asked == 3  # two attempts, then the recovery probe


async def test_a_voice_that_speaks_in_time_is_heard_whole() -> None:
    """Its frames go straight through: the same audio as the voice alone."""
    alone = ToneTTS()
    primary = ToneTTS()
    chain = DeadlineFallbackTTS([primary, SilentTTS()], first_audio={primary: 5.0})
    try:
        assert await _speak(chain) == await _speak(alone)
    finally:
        await chain.aclose()
