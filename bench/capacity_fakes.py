"""The scripted providers of `tests/fakes.py` with a cloud provider's streaming delays.

The sizing table's cloud profile must not be measured with providers that answer in
zero time: a real call waits for Deepgram's final transcript, the LLM's first token and
the TTS's first audio, and while it waits its job process holds its memory and its share
of the event loop. These add the delays and nothing else (no network, no keys):

- recogniser: the final transcript arrives 150-300 ms after the caller stopped talking
  (counted from the end of speech, not from when it is asked: a streaming recogniser
  has usually finished before the VAD's 0.55 s of silence has passed). `StreamingSTT`
  is the cloud profile's: it streams like Deepgram's (it takes every frame of the call
  and answers on its own), so the session runs one VAD stream per call, its own; the
  non-streaming `DelayedSTT` made livekit-agents wrap it in a `StreamAdapter` with a
  second VAD stream, work a call on Deepgram does not do;
- LLM: the first (and only) chunk after `LLM_FIRST_TOKEN_S`;
- TTS: the first audio after `TTS_FIRST_AUDIO_S`.
"""

from __future__ import annotations

import asyncio
import random

from livekit import rtc
from livekit.agents import APIConnectOptions, llm, stt, tts
from livekit.agents.language import LanguageCode
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

from dialtone.simulate.call_io import CallerLine
from dialtone.simulate.recording import CallClock
from tests.fakes import ScriptedLLM, ScriptedSTT, ToneTTS, _ScriptedStream, _ToneStream

STT_FINAL_S = (0.15, 0.30)
LLM_FIRST_TOKEN_S = 0.30
TTS_FIRST_AUDIO_S = 0.20


class DelayedSTT(ScriptedSTT):
    """`ScriptedSTT` whose final transcript comes 150-300 ms after the end of speech."""

    def __init__(self, line: CallerLine, clock: CallClock, *, seed: int = 0) -> None:
        super().__init__(line)
        self._clock = clock
        self._random = random.Random(seed)

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        if self._line.heard_parts:
            spoke_until = self._line.heard_parts[-1][0]
            final_at = spoke_until + self._random.uniform(*STT_FINAL_S)
            await asyncio.sleep(self._clock.deadline_in(final_at))
        return await super()._recognize_impl(buffer, language=language, conn_options=conn_options)


class StreamingSTT(stt.STT):
    """A streaming recogniser like Deepgram's: every frame in, a final transcript out.

    It reads the call's audio frame by frame (as the Deepgram plugin sends each to its
    websocket) and, for each caller phrase the line has played, sends the final
    transcript 150-300 ms after the phrase ended, whatever the VAD is doing.
    """

    def __init__(self, line: CallerLine, clock: CallClock, *, seed: int = 0) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))
        self.line = line
        self.clock = clock
        self.random = random.Random(seed)

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        raise NotImplementedError("the cloud profile's recogniser is only streamed")

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        return _StreamingRecognition(stt=self, conn_options=conn_options)


class _StreamingRecognition(stt.RecognizeStream):
    async def _run(self) -> None:
        owner = self._stt
        assert isinstance(owner, StreamingSTT)
        heard = len(owner.line.heard_parts)
        pending: set[asyncio.Task[None]] = set()
        try:
            async for data in self._input_ch:
                if not isinstance(data, rtc.AudioFrame):
                    continue
                while heard < len(owner.line.heard_parts):
                    ended, words = owner.line.heard_parts[heard]
                    heard += 1
                    final_at = ended + owner.random.uniform(*STT_FINAL_S)
                    task = asyncio.create_task(self._final(words, final_at))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
        finally:
            for task in pending:
                task.cancel()

    async def _final(self, words: str, at: float) -> None:
        owner = self._stt
        assert isinstance(owner, StreamingSTT)
        await asyncio.sleep(owner.clock.deadline_in(at))
        self._event_ch.send_nowait(
            stt.SpeechEvent(
                type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                alternatives=[stt.SpeechData(language=LanguageCode("en"), text=words)],
            )
        )


class DelayedLLM(ScriptedLLM):
    """`ScriptedLLM` whose answer starts `LLM_FIRST_TOKEN_S` after it is asked."""

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, object]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        return _DelayedStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class _DelayedStream(_ScriptedStream):
    async def _run(self) -> None:
        await asyncio.sleep(LLM_FIRST_TOKEN_S)
        await super()._run()


class DelayedTTS(ToneTTS):
    """`ToneTTS` whose first audio comes `TTS_FIRST_AUDIO_S` after it is asked."""

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _DelayedTone(tts=self, input_text=text, conn_options=conn_options)


class _DelayedTone(_ToneStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        await asyncio.sleep(TTS_FIRST_AUDIO_S)
        await super()._run(output_emitter)
