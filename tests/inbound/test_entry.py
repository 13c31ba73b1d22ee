"""The worker's transfer wiring: `build_agent` as `answer_call` calls it.

A stand-in for the job (its room name and events, its LiveKit API client pointed at the
double, shutdown and delete_room) and a real AgentSession: if the worker stops building
the transfer desk, routing the caller's keys or leaving without ending the call, a test
here fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from livekit import api, rtc
from livekit.agents import AgentSession
from livekit.protocol.sip import CreateSIPOutboundTrunkRequest, SIPOutboundTrunkInfo

from dialtone.db.engine import make_engine, sqlite_url
from dialtone.inbound.entry import build_agent
from dialtone.messages.store import MessageStore
from dialtone.personas import Persona, PersonaBook
from dialtone.telephony.caller import CallerInfo
from tests.fakes import Reply, ScriptedLLM
from tests.livekit_double import LiveKitDouble
from tests.programs import receptionist

Receptionist = receptionist.Receptionist
TransferReceptionist = receptionist.TransferReceptionist

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
ROOM = "call-7"
OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 New York


class FakeRoom(rtc.EventEmitter[Any]):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


@dataclass
class FakeJob:
    """The parts of `JobContext` the receptionist wiring uses."""

    room: FakeRoom
    api: api.LiveKitAPI
    shutdowns: list[str] = field(default_factory=list)
    deleted: int = 0

    def shutdown(self, reason: str = "") -> None:
        self.shutdowns.append(reason)

    async def delete_room(self) -> None:
        self.deleted += 1


@dataclass
class Who:
    identity: str


@pytest.fixture
async def job(livekit_double: LiveKitDouble) -> AsyncIterator[FakeJob]:
    livekit_double.add_participant(ROOM, "sip_caller", kind="sip", attributes={"sip.callID": "S1"})
    async with livekit_double.client() as lk:
        await lk.sip.create_outbound_trunk(
            CreateSIPOutboundTrunkRequest(
                trunk=SIPOutboundTrunkInfo(
                    name="carrier-outbound", address="sip.carrier.example", numbers=["+15550100"]
                )
            )
        )
        yield FakeJob(FakeRoom(ROOM), lk)


def persona() -> Persona:
    return PersonaBook.load(PERSONAS, "receptionist").pick()


def store(tmp_path: Path) -> MessageStore:
    return MessageStore(make_engine(sqlite_url(tmp_path)))


def dtmf(digit: str, identity: str) -> rtc.SipDTMF:
    return rtc.SipDTMF(code=0, digit=digit, participant=Who(identity))  # type: ignore[arg-type]


async def test_persona_with_targets_gets_transfers_on_the_jobs_api(
    job: FakeJob, livekit_double: LiveKitDouble, tmp_path: Path
) -> None:
    caller = CallerInfo(phone_number="+15551230000", call_id="S1")
    session: AgentSession = AgentSession(llm=ScriptedLLM(lambda _: Reply("Hello.")))
    listened: list[str] = []

    async def first_words(identity: str) -> str:
        listened.append(identity)
        return "Front desk, Maria speaking."

    agent = build_agent(
        job,  # type: ignore[arg-type]
        session,
        receptionist.make_agent,
        persona(),
        caller,
        "sip_caller",
        store(tmp_path),
        first_words,
    )
    assert isinstance(agent, TransferReceptionist)
    desk = agent.transfers.desk
    assert (desk.room, desk.caller_identity, desk.call_id) == (ROOM, "sip_caller", "S1")
    desk.clock = lambda: OPEN
    async with session:
        await session.start(agent)
        job.room.emit("sip_dtmf_received", dtmf("0", "transfer-front-desk"))  # not the caller
        assert agent._key_task is None
        job.room.emit("sip_dtmf_received", dtmf("0", "sip_caller"))
        assert agent._key_task is not None
        await agent._key_task
        assert agent._leaving is not None
        await agent._leaving
    [dial] = livekit_double.sip.dials
    assert (dial.request.room_name, dial.request.sip_call_to) == (ROOM, "+15550100111")
    assert listened == ["transfer-front-desk"]  # the human's leg was checked for voicemail
    # Only the agent left: the job ended, the room was not deleted, both legs remain.
    assert job.shutdowns == ["handed the caller to a human"] and job.deleted == 0
    assert set(livekit_double.state.participants[ROOM]) == {"sip_caller", "transfer-front-desk"}
    assert "DeleteRoom" not in [c.method for c in livekit_double.calls]


async def test_no_transfers_without_targets_or_without_a_sip_caller(
    job: FakeJob, tmp_path: Path
) -> None:
    session: AgentSession = AgentSession()
    plain = persona().model_copy(update={"transfer_targets": []})
    for who, chosen in ((persona(), None), (plain, "sip_caller")):
        agent = build_agent(
            job,  # type: ignore[arg-type]
            session,
            receptionist.make_agent,
            who,
            CallerInfo(),
            chosen,
            store(tmp_path),
        )
        assert type(agent) is Receptionist
    assert job.room._events.get("sip_dtmf_received", set()) == set()  # no key routing


@dataclass
class RecordingJob(FakeJob):
    """A job as a LiveKit Cloud project dispatches it: its recording and redaction flags."""

    job: Any = None
    callbacks: list[Any] = field(default_factory=list)

    def add_shutdown_callback(self, callback: Any) -> None:
        self.callbacks.append(callback)


@pytest.mark.parametrize("redaction", [False, True])
async def test_a_recorded_persona_under_transcript_redaction_is_answered_unrecorded(
    redaction: bool,
    livekit_double: LiveKitDouble,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from livekit.protocol import agent as agent_proto

    from dialtone.config import load_settings
    from dialtone.inbound.entry import InboundCall
    from dialtone.pipeline import Pipeline
    from dialtone.records.job import AUDIO_ONLY
    from dialtone.simulate.recording import recorded

    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path))
    async with livekit_double.client() as lk:
        job = RecordingJob(FakeRoom(ROOM), lk, job=agent_proto.Job(enable_redaction=redaction))
        llm = ScriptedLLM(lambda _: Reply("Hello."))
        pipeline = Pipeline(vad=None, stt=None, llm=llm, tts=None)  # type: ignore[arg-type]
        call = InboundCall(
            job,  # type: ignore[arg-type]
            load_settings(),
            recorded(persona()),
            CallerInfo(call_id="S9"),
            None,
            pipeline,
        )
        session: AgentSession = AgentSession(llm=llm)
        await call.context(session)
    refused = [r for r in caplog.records if "redacts transcripts" in r.getMessage()]
    if redaction:
        assert call.record is False  # the project's own setting: off, so start cannot raise
        assert len(refused) == 1 and refused[0].levelname == "ERROR"
    else:
        assert call.record == AUDIO_ONLY and refused == []


def test_a_call_reads_the_room_in_the_frames_the_settings_ask_for() -> None:
    """`DIALTONE_INPUT_FRAME_MS` reaches both kinds of call's session options."""
    from typing import cast

    from dialtone.config import load_settings
    from dialtone.inbound.entry import InboundCall
    from dialtone.outbound.entry import ReminderCall

    unused = cast(Any, None)
    for frame_ms in (50, 100):
        settings = load_settings(input_frame_ms=frame_ms)
        inbound = InboundCall(unused, settings, unused, unused, None, unused)
        reminder = ReminderCall(unused, settings, unused, unused, unused, unused)
        for options in (inbound.room_options, reminder.room_options):
            assert options.audio_input.frame_size_ms == frame_ms  # type: ignore[union-attr]
