"""A voice fallback chain whose links may have a first-audio deadline of their own.

OpenAI's TTS plugin waits up to 30 s for a reply that has connected, and livekit-agents'
`tts.FallbackAdapter` has no attempt timeout for a voice: a server that accepts and
stays silent would hold the caller in silence that long before the offline voice took
over. The deadline was a wrapper TTS around the OpenAI link, a stream of its own that
re-sent every frame of the agent's speech through one more emitter, its queue and its
task (about 1.3 ms of CPU per 10 s of speech, measured with the capacity bench's
scripted voice). Here the chain's own stream applies it as it reads the link, frames
straight through.

`DeadlineFallbackTTS` is `tts.FallbackAdapter` (the same links, order, availability,
recovery and events) whose attempt on a link with a deadline fails with
`APITimeoutError` when no audio has come within it; such an attempt is tried again
`max_retry_per_tts` times, as the wrapper's stream was, before the next link speaks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping

from livekit.agents import APIConnectOptions, APITimeoutError, tts
from livekit.agents.tts.fallback_adapter import (
    DEFAULT_FALLBACK_API_CONNECT_OPTIONS,
    FallbackChunkedStream,
)

logger = logging.getLogger("dialtone.tts_failover")


class DeadlineFallbackTTS(tts.FallbackAdapter):
    """`tts.FallbackAdapter` with a first-audio deadline (seconds) per link, by link."""

    def __init__(
        self,
        links: list[tts.TTS],
        *,
        first_audio: Mapping[tts.TTS, float],
        max_retry_per_tts: int = 0,
        retry_interval: float = 0.2,
    ) -> None:
        super().__init__(links, max_retry_per_tts=max_retry_per_tts)
        self._first_audio = {id(link): seconds for link, seconds in first_audio.items()}
        self._retry_interval = retry_interval

    def first_audio_deadline(self, link: tts.TTS) -> float | None:
        """Seconds `link` gets to start speaking, or None when it has no deadline."""
        return self._first_audio.get(id(link))

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_FALLBACK_API_CONNECT_OPTIONS
    ) -> FallbackChunkedStream:
        return DeadlineChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class DeadlineChunkedStream(FallbackChunkedStream):
    """The chain's stream: each link's attempt as the adapter's, within its deadline."""

    async def _try_synthesize(
        self, *, tts: tts.TTS, recovering: bool = False
    ) -> AsyncGenerator[tts.SynthesizedAudio, None]:
        adapter = self._fallback_adapter
        assert isinstance(adapter, DeadlineFallbackTTS)
        deadline = adapter.first_audio_deadline(tts)
        if deadline is None:
            async for audio in super()._try_synthesize(tts=tts, recovering=recovering):
                yield audio
            return
        retries = adapter._max_retry_per_tts
        for attempt in range(retries + 1):
            frames = super()._try_synthesize(tts=tts, recovering=recovering)
            try:
                try:
                    first = await asyncio.wait_for(frames.__anext__(), deadline)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    if attempt < retries:
                        logger.warning(
                            "%s: no audio within %gs, trying it again", tts.label, deadline
                        )
                        await asyncio.sleep(adapter._retry_interval)
                        continue
                    logger.warning(
                        "%s: no audio within %gs, the next voice speaks", tts.label, deadline
                    )
                    raise APITimeoutError(f"{tts.label}: no audio within {deadline:g}s") from None
                yield first
                async for audio in frames:
                    yield audio
                return
            finally:
                await frames.aclose()
