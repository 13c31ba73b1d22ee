"""The offline recogniser: pocketsphinx with a persona language model, in a worker process.

pocketsphinx holds the GIL while it decodes: one five-second utterance froze an event
loop for 2.4 s, which on a phone call means stalled audio for every other call in the
process. So decoding never happens in the agent's process: a one-worker process pool
(spawned, or started from a fork server, never forked from a process that runs LiveKit's
native threads) loads the decoder once and decodes whole utterances the framework's VAD
has cut. Non-streaming: livekit-agents wraps it in a VAD-driven StreamAdapter.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, stt, utils
from livekit.agents.language import LanguageCode
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

from .audio import PCM, resample, to_mono
from .sphinx_worker import SAMPLE_RATE, Recognition, decode, dropped_words, init_worker

logger = logging.getLogger("dialtone.offline.stt")


def _mp_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def buffer_to_pcm(buffer: AudioBuffer, sample_rate: int = SAMPLE_RATE) -> PCM:
    """Any frame or list of frames as mono int16 at `sample_rate`."""
    frame = rtc.combine_audio_frames(buffer) if isinstance(buffer, list) else buffer
    if frame.samples_per_channel == 0:
        return np.zeros(0, dtype=np.int16)
    samples = np.frombuffer(frame.data, dtype=np.int16)
    return resample(to_mono(samples, frame.num_channels), frame.sample_rate, sample_rate)


class PocketSphinxSTT(stt.STT):
    """Recognises the caller against the phrases a persona expects (see `lm`)."""

    def __init__(
        self,
        *,
        phrases: Sequence[str],
        language: str = "en",
        cache_dir: Path | None = None,
    ) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._phrases = list(phrases)
        self._language = language
        self._cache_dir = cache_dir
        self._pool: ProcessPoolExecutor | None = None
        self._ready: asyncio.Future[frozenset[str]] | None = None

    @property
    def model(self) -> str:
        return "pocketsphinx-en-us"

    @property
    def provider(self) -> str:
        return "dialtone-offline"

    def prewarm(self) -> None:
        """Start the worker and load the decoder now, so the first turn does not wait."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._ensure_pool()

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=_mp_context(),
                initializer=init_worker,
                initargs=(self._phrases, str(self._cache_dir) if self._cache_dir else None),
            )
            pool = self._pool
            # Starting the first worker can block for seconds (the forkserver starts and
            # re-imports the main module). Submitting from a thread keeps that stall off
            # the event loop, which is playing the greeting meanwhile.
            self._ready = asyncio.ensure_future(
                asyncio.to_thread(lambda: pool.submit(dropped_words).result())
            )
            self._ready.add_done_callback(self._log_worker_ready)
        return self._pool

    @staticmethod
    def _log_worker_ready(ready: asyncio.Future[frozenset[str]]) -> None:
        if ready.cancelled() or ready.exception() is not None:
            return
        if dropped := ready.result():
            logger.warning(
                "offline recogniser ignores words missing from its dictionary: %s",
                ", ".join(sorted(dropped)),
            )

    async def recognize_pcm(self, pcm: PCM) -> Recognition:
        """Decode 16 kHz mono int16 samples in the worker (also used by the benchmark)."""
        pool = self._ensure_pool()
        if self._ready is not None and not self._ready.done():
            # Wait for the worker to exist, so `submit` below cannot block the loop.
            await asyncio.wait([self._ready])
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, decode, pcm.tobytes())
        except BrokenProcessPool as exc:
            # The worker died (killed, out of memory): start a fresh one next time.
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise APIConnectionError(f"offline recogniser worker died: {exc}") from exc

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        pcm = buffer_to_pcm(buffer)
        result = await self.recognize_pcm(pcm) if pcm.size else Recognition("", 0.0, 0.0)
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=utils.shortuuid("sphinx_"),
            alternatives=[
                stt.SpeechData(
                    language=LanguageCode(self._language),
                    text=result.text.lower(),
                    confidence=result.confidence,
                    end_time=pcm.size / SAMPLE_RATE,
                )
            ],
        )

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            # Shutting down joins the worker: do that off the loop.
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
