"""Local stand-ins for Deepgram and OpenAI, failing the ways a network fails.

Each is a real socket on 127.0.0.1 (or a host that cannot resolve), so the plugins'
own HTTP and WebSocket clients meet the failure exactly as they would in production.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import numpy as np
from aiohttp import WSCloseCode, WSMsgType, web

#: A name under the reserved `.invalid` top-level domain: resolution always fails.
UNRESOLVABLE = "http://dialtone-outage.invalid"


def closed_port_url() -> str:
    """A URL whose port nothing listens on: connection refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers (a hung provider): only a timeout ends it."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    # A handler hung on purpose (a provider that never answers) is cancelled when the
    # call is over, not waited for through aiohttp's default 60 s shutdown grace.
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def status_handler(status: int) -> Handler:
    """Answers with `status`, as an overloaded (429) or broken (5xx) provider does."""

    async def answer(request: web.Request) -> web.StreamResponse:
        await request.read()
        return web.json_response(
            {"error": {"message": f"status {status}", "type": "server_error"}},
            status=status,
            headers={"Retry-After": "0"},
        )

    return answer


def status_app(status: int) -> web.Application:
    """Every request (a WebSocket upgrade too) answered with `status`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", status_handler(status))
    return app


def openai_app(*, chat: Handler | None = None, speech: Handler | None = None) -> web.Application:
    """An OpenAI-compatible server: chat and speech from the handlers given, else 503."""
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat or status_handler(503))
    app.router.add_post("/v1/audio/speech", speech or status_handler(503))
    return app


# --- healthy for the first turns, then failing ----------------------------------------


class Budget:
    """How many requests a stand-in answers before it fails."""

    def __init__(self, healthy: int) -> None:
        self.left = healthy
        self.served = 0

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        self.served += 1
        return True


def chat_handler(budget: Budget, reply: str) -> Handler:
    """Chat completions streamed as OpenAI does, `reply` each time; then 500s."""

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        if not budget.take():
            return web.json_response({"error": {"message": "down"}}, status=500)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for delta, finish in (({"role": "assistant", "content": reply}, None), ({}, "stop")):
            chunk = {
                "id": "chatcmpl-outage",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "test",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    return chat


def _tone_wav(seconds: float = 0.8, rate: int = 24000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * 330 * t) * 8000).astype(np.int16)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return out.getvalue()


def speech_handler(budget: Budget) -> Handler:
    """Speech as a WAV tone for the first requests; then accepted and never answered."""

    async def speech(request: web.Request) -> web.Response:
        await request.read()
        if not budget.take():
            await asyncio.sleep(3600)
        return web.Response(body=_tone_wav(), content_type="audio/wav")

    return speech


def deepgram_app(budget: Budget, transcripts: list[str]) -> web.Application:
    """Deepgram's streaming API for the first connection: it transcribes the caller's
    first utterance (found by its energy) as `transcripts[0]`, then drops the socket;
    later connections are refused with 503."""

    async def listen(request: web.Request) -> web.StreamResponse:
        if not budget.take():
            return web.json_response({"err_msg": "down"}, status=503)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        rate = int(request.query.get("sample_rate", "16000"))
        voiced = quiet = 0.0
        async for message in ws:
            if message.type != 1 and isinstance(message.data, bytes):  # binary audio
                samples = np.frombuffer(message.data, dtype=np.int16).astype(np.float64)
                seconds = samples.size / rate
                loud = samples.size > 0 and float(np.sqrt(np.mean(samples**2))) > 300
                if loud:
                    voiced += seconds
                    quiet = 0.0
                elif voiced > 0.3:
                    quiet += seconds
                if voiced > 0.3 and quiet > 0.4:
                    await ws.send_json(_results(transcripts[0]))
                    await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"outage")
                    break
        return ws

    app = web.Application()
    app.router.add_get("/v1/listen", listen)
    return app


def healthy_deepgram_app(transcripts: list[str]) -> web.Application:
    """Deepgram's streaming API that stays up: each utterance of the caller (found by its
    energy) is transcribed as the next of `transcripts`, until the client closes."""

    async def listen(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        rate = int(request.query.get("sample_rate", "16000"))
        voiced = quiet = 0.0
        heard = iter(transcripts)
        async for message in ws:
            if message.type == WSMsgType.TEXT and "CloseStream" in message.data:
                break
            if message.type != WSMsgType.BINARY:
                continue
            samples = np.frombuffer(message.data, dtype=np.int16).astype(np.float64)
            if samples.size and float(np.sqrt(np.mean(samples**2))) > 300:
                voiced += samples.size / rate
                quiet = 0.0
            elif voiced > 0.3:
                quiet += samples.size / rate
            if voiced > 0.3 and quiet > 0.4:
                voiced = quiet = 0.0
                if (text := next(heard, None)) is not None:
                    await ws.send_json(_results(text))
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/v1/listen", listen)
    return app


def _results(text: str) -> dict[str, object]:
    words = [
        {"word": w, "start": 0.1 * i, "end": 0.1 * i + 0.1, "confidence": 0.99}
        for i, w in enumerate(text.split())
    ]
    return {
        "type": "Results",
        "is_final": True,
        "speech_final": True,
        "start": 0.0,
        "duration": 1.0,
        "metadata": {"request_id": "outage"},
        "channel": {"alternatives": [{"transcript": text, "confidence": 0.99, "words": words}]},
    }
