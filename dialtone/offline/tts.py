"""The offline agent voice: espeak-ng behind livekit-agents' TTS interface.

Non-streaming on purpose: espeak renders a sentence in tens of milliseconds, and the
framework already splits the agent's reply into sentences before synthesis, so a
ChunkedStream per sentence reaches first audio as quickly as a streaming API would.
"""

from __future__ import annotations

from livekit.agents import APIConnectOptions, APIError, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

from . import espeak

SAMPLE_RATE = 16000
NUM_CHANNELS = 1


class EspeakTTS(tts.TTS):
    """espeak-ng speech at 16 kHz mono, in the persona's offline voice and speed."""

    def __init__(
        self,
        *,
        voice: str = "en-us+f3",
        speed: float = 1.0,
        pitch: int | None = None,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=sample_rate,
            num_channels=NUM_CHANNELS,
        )
        self.voice = voice
        self.speed = speed
        self.pitch = pitch

    @property
    def model(self) -> str:
        return f"espeak-ng/{self.voice}"

    @property
    def provider(self) -> str:
        return "dialtone-offline"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> EspeakChunkedStream:
        return EspeakChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class EspeakChunkedStream(tts.ChunkedStream):
    """One sentence rendered by espeak-ng and handed over as raw PCM."""

    def __init__(self, *, tts: EspeakTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._espeak = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        try:
            pcm = await espeak.synthesize(
                self.input_text,
                voice=self._espeak.voice,
                speed=self._espeak.speed,
                pitch=self._espeak.pitch,
                sample_rate=self._espeak.sample_rate,
            )
        except espeak.EspeakError as exc:
            # A missing binary or bad voice name does not get better by retrying.
            raise APIError(str(exc), retryable=False) from exc
        output_emitter.initialize(
            request_id=utils.shortuuid("espeak_"),
            sample_rate=self._espeak.sample_rate,
            num_channels=NUM_CHANNELS,
            mime_type="audio/pcm",
            frame_size_ms=20,
        )
        output_emitter.push(pcm.tobytes())
        output_emitter.flush()
