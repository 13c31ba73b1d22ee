"""The console against a real server: `create_app` + `install_console` on SQLite, served
by uvicorn on a free local port, with one finished call and one message in it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine

from dialtone.config import load_settings
from dialtone.console_web import install_console
from dialtone.db.engine import new_engine
from dialtone.http.server import create_app
from dialtone.messages.store import MessageStore
from dialtone.records.audio import DirectoryRecordings
from dialtone.records.models import CallOutcome, Direction, HangupBy, LatencySummary, TranscriptLine
from dialtone.records.store import CallEnd, CallStart, RecordStore
from dialtone.simulate.recording import RECORDING_RATE, Recording

TOKEN = "console-token-0123456789abcdef"


@dataclass(frozen=True)
class Console:
    url: str
    engine: Engine
    call_id: str
    message_id: str


def seed(engine: Engine) -> tuple[str, str]:
    """One answered inbound call with a transcript, and the message its caller left."""
    started = datetime.now(UTC) - timedelta(minutes=5)
    store = RecordStore(engine)
    call_id = store.insert_closed(
        CallStart(
            Direction.INBOUND,
            room="call-seed",
            sip_call_id="SCL_seed",
            caller_number="+15550100222",
            called_number="+15550100100",
            persona="receptionist",
        ),
        CallEnd(
            outcome=CallOutcome.COMPLETED,
            ended_at=started + timedelta(seconds=40),
            hangup_by=HangupBy.CALLER,
            answered_at=started + timedelta(seconds=1),
            tools=["take_message"],
            latency=LatencySummary(turns=2, response_median_ms=820.0, response_p95_ms=1310.0),
            transcript=[
                TranscriptLine(at=1.0, speaker="agent", text="Hello, Acme Dental."),
                TranscriptLine(at=4.0, speaker="caller", text="Please ask Dr Lee to call me."),
                TranscriptLine(at=4.9, speaker="agent", text="I have passed that on."),
            ],
        ),
        started,
    )
    message = asyncio.run(
        MessageStore(engine).add(
            persona="receptionist",
            message="Please ask Dr Lee to call me back",
            caller_number="+15550100222",
            call_id="SCL_seed",
            room="call-seed",
        )
    )
    return call_id, message.id


#: The seeded call's recording: two seconds, a tone on each side in turn.
RECORDING_SECONDS = 2.0


def seed_recording(data_dir: Path, call_id: str) -> None:
    """The stereo WAV a simulated call writes, kept as the seeded call's recording."""
    tone = (8000 * np.sin(np.arange(RECORDING_RATE) * 2 * np.pi * 440 / RECORDING_RATE)).astype(
        np.int16
    )
    recording = Recording()
    recording.agent.write(0.0, tone, RECORDING_RATE)
    recording.caller.write(1.0, tone, RECORDING_RATE)
    wav = data_dir / "call.wav"
    recording.save(wav)
    DirectoryRecordings(data_dir / "recordings").put(call_id, wav)


def console_app(tmp_path: Path, engine: Engine) -> FastAPI:
    settings = load_settings(api_token=SecretStr(TOKEN), data_dir=tmp_path / "data")
    app = create_app(settings, engine)
    install_console(app)
    return app


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    engine = new_engine(f"sqlite:///{tmp_path / 'console.db'}")
    app = console_app(tmp_path, engine)  # upgrades the schema first
    call_id, message_id = seed(engine)
    seed_recording(tmp_path / "data", call_id)
    # The socket is bound here and handed to uvicorn, so no other test (or xdist worker)
    # can take the port between choosing it and listening on it.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the console server did not start"
        time.sleep(0.05)
    yield Console(f"http://127.0.0.1:{port}", engine, call_id, message_id)
    server.should_exit = True
    thread.join(10)
    listener.close()
    engine.dispose()
