"""The worker endpoint (`GET /agent`, a websocket): where an agent worker registers.

livekit-agents' worker dials `<LIVEKIT_URL>/agent` with a bearer token, sends a
`WorkerMessage.register` (its agent name, type, version) and waits for the server's
`RegisterWorkerResponse` before it counts as started. The double checks the token like
the HTTP API does, records the registration, answers with a worker id, then reads and
drops the worker's status updates until it disconnects. It never assigns a job: there
are no rooms with media here, so "the worker reached LiveKit" is all it can show.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web
from livekit.protocol import agent
from livekit.protocol.models import ServerInfo

from . import auth
from .errors import TwirpError


@dataclass
class WorkerRecord:
    """One worker that registered; `connected` turns False when its socket closes."""

    worker_id: str
    agent_name: str
    type: int
    version: str
    connected: bool = True
    updates: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class Workers:
    records: list[WorkerRecord] = field(default_factory=list)
    refused: int = 0
    #: told each registration and departure, one line each (the standalone double prints)
    announce: Callable[[str], None] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> str:
        return f"AW_double{next(self._ids):04d}"

    def tell(self, line: str) -> None:
        if self.announce is not None:
            self.announce(line)

    def clear(self) -> None:
        self.records.clear()
        self.refused = 0


async def serve_worker(
    request: web.Request, *, api_key: str, api_secret: str, workers: Workers
) -> web.StreamResponse:
    """Accept one worker connection and keep it until the worker leaves."""
    try:
        auth.authenticate(request.headers.get("Authorization"), api_key, api_secret, "spec")
    except (TwirpError, auth.PlainHTTPError) as exc:
        workers.refused += 1
        workers.tell(f"refused a worker: {exc}")
        return web.Response(status=401, text=str(exc))
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    first = await ws.receive()
    if first.type != WSMsgType.BINARY:
        await ws.close()
        return ws
    message = agent.WorkerMessage()
    message.ParseFromString(first.data)
    if not message.HasField("register"):
        await ws.close()
        return ws
    record = WorkerRecord(
        worker_id=workers.next_id(),
        agent_name=message.register.agent_name,
        type=message.register.type,
        version=message.register.version,
    )
    workers.records.append(record)
    reply = agent.ServerMessage(
        register=agent.RegisterWorkerResponse(
            worker_id=record.worker_id,
            server_info=ServerInfo(edition=ServerInfo.Edition.Standard, version="double"),
        )
    )
    await ws.send_bytes(reply.SerializeToString())
    workers.tell(f"worker {record.worker_id} registered for agent {record.agent_name!r}")
    try:
        async for frame in ws:
            if frame.type == WSMsgType.BINARY:
                record.updates += 1
    finally:
        record.connected = False
        workers.tell(f"worker {record.worker_id} ({record.agent_name!r}) left")
    return ws
