"""Deterministic stand-ins for providers, for behaviour tests. Never used in production."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from livekit.agents import APIConnectOptions, llm, stt, tts
from livekit.agents.language import LanguageCode
from livekit.agents.llm import ChatContext
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

from dialtone.simulate.call_io import CallerLine


@dataclass
class Reply:
    """What the scripted model says: text, and tool calls as (name, arguments)."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


Responder = Callable[[ChatContext], Reply]


class ScriptedLLM(llm.LLM):
    """An LLM whose every answer is computed by a plain function of the chat so far."""

    def __init__(self, respond: Responder) -> None:
        super().__init__()
        self._respond = respond
        self.requests: list[ChatContext] = []

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "tests"

    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        self.requests.append(chat_ctx.copy())
        return _ScriptedStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )


class _ScriptedStream(llm.LLMStream):
    async def _run(self) -> None:
        assert isinstance(self._llm, ScriptedLLM)
        reply = self._llm._respond(self._chat_ctx)
        calls = [
            llm.FunctionToolCall(
                name=name, arguments=json.dumps(args), call_id=f"call_{uuid.uuid4().hex[:8]}"
            )
            for name, args in reply.tool_calls
        ]
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id=uuid.uuid4().hex,
                delta=llm.ChoiceDelta(
                    role="assistant", content=reply.text or None, tool_calls=calls
                ),
            )
        )


def last_user_text(chat_ctx: ChatContext) -> str:
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role == "user":
            return (item.text_content or "").lower()
    return ""


def last_item_type(chat_ctx: ChatContext) -> str:
    return chat_ctx.items[-1].type if chat_ctx.items else ""


class ScriptedSTT(stt.STT):
    """A recogniser that "hears" exactly the caller phrases played since its last call.

    It is driven by real VAD segments (the framework wraps this non-streaming STT in a
    VAD `StreamAdapter`), so turn-taking, endpointing and barge-in are the real ones;
    only the words are known instead of decoded, which makes audio tests deterministic.
    """

    def __init__(self, line: CallerLine, *, unheard: frozenset[str] = frozenset()) -> None:
        """`unheard` phrases produce no words, like a backchannel a real STT drops."""
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._line = line
        self._unheard = unheard
        self._cursor = 0

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        parts = self._line.heard_parts[self._cursor :]
        self._cursor = len(self._line.heard_parts)
        text = " ".join(words for _, words in parts if words not in self._unheard)
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode("en"), text=text)],
        )


class ToneTTS(tts.TTS):
    """A voice of harmonic tones, 60 ms per character: long replies to talk over, instantly."""

    SAMPLE_RATE = 16000

    def __init__(self) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=self.SAMPLE_RATE,
            num_channels=1,
        )

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _ToneStream(tts=self, input_text=text, conn_options=conn_options)


class _ToneStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        rate = ToneTTS.SAMPLE_RATE
        t = np.arange(round(0.06 * len(self.input_text) * rate)) / rate
        wave = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((180, 360, 540), 1))
        pcm = (3000 * wave).astype(np.int16)
        output_emitter.initialize(
            request_id=uuid.uuid4().hex, sample_rate=rate, num_channels=1, mime_type="audio/pcm"
        )
        output_emitter.push(pcm.tobytes())
        output_emitter.flush()
