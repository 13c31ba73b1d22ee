"""The reminder agent's recording (`OutboundRecording`) around the real dialing code
(`dialtone.outbound.dial.dial`) against the LiveKit double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from livekit.agents import ChatMessage
from livekit.agents.voice.events import ConversationItemAddedEvent
from livekit.api import LiveKitAPI
from livekit.protocol.sip import CreateSIPOutboundTrunkRequest, SIPOutboundTrunkInfo
from livekit.rtc import EventEmitter

from dialtone.campaigns.models import Outcome
from dialtone.config import Settings, load_settings
from dialtone.outbound.dial import CallPlan, dial
from dialtone.records.models import CallOutcome, Direction
from dialtone.records.outbound import OutboundRecording
from dialtone.records.store import CallFilter, CallStart, RecordStore
from tests.livekit_double import LiveKitDouble

CALLEE = "+15550200001"


class FakeJob:
    """The two things of a JobContext the recording uses: the room and shutdown hooks."""

    def __init__(self) -> None:
        self.room: EventEmitter[str] = EventEmitter()
        self.on_shutdown: list[Any] = []

    def add_shutdown_callback(self, callback: Any) -> None:
        self.on_shutdown.append(callback)


class FakeSession(EventEmitter[str]):
    pass


@pytest.fixture
def settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    return load_settings(database_url=db_url, data_dir=tmp_path / "data")


@pytest.fixture
async def lk(livekit_double: LiveKitDouble) -> AsyncIterator[tuple[LiveKitAPI, str]]:
    async with livekit_double.client() as client:
        trunk = await client.sip.create_outbound_trunk(
            CreateSIPOutboundTrunkRequest(
                trunk=SIPOutboundTrunkInfo(
                    name="carrier-outbound", address="sip.carrier.example", numbers=["+15550100"]
                )
            )
        )
        yield client, trunk.sip_trunk_id


async def attempt(
    settings: Settings,
    lk: tuple[LiveKitAPI, str],
    result: tuple[Outcome | None, str],
    *,
    dials: bool,
) -> FakeJob:
    client, trunk_id = lk
    job = FakeJob()
    recording = OutboundRecording(
        job,  # type: ignore[arg-type]
        FakeSession(),  # type: ignore[arg-type]
        CallStart(
            Direction.OUTBOUND,
            room="dt-attempt-a1",
            called_number=CALLEE,
            campaign_id="c1",
            attempt_id="a1",
        ),
        settings=settings,
    )
    if dials:
        plan = CallPlan(trunk_id, CALLEE, "+15550100100", "dt-attempt-a1", 20, 600)
        await dial(recording.sip(client.sip), plan)  # type: ignore[arg-type]
    await recording.finish(*result)
    return job


async def test_a_busy_dial_keeps_its_sip_outcome(
    settings: Settings,
    store: RecordStore,
    lk: tuple[LiveKitAPI, str],
    livekit_double: LiveKitDouble,
) -> None:
    livekit_double.sip.script_call(CALLEE, sip_status_code=486, sip_status="Busy Here")
    await attempt(settings, lk, (Outcome.BUSY, "busy (SIP 486: Busy Here)"), dials=True)
    (record,) = store.list(CallFilter())[0]
    assert (record.outcome, record.sip_status_code) == (CallOutcome.BUSY, 486)
    assert record.answered_at is None and record.attempt_id == "a1"


@pytest.mark.parametrize(
    ("campaign", "outcome"),
    [(Outcome.VOICEMAIL, CallOutcome.VOICEMAIL), (Outcome.OPTED_OUT, CallOutcome.COMPLETED)],
)
async def test_an_answered_call_takes_the_campaign_outcome(
    settings: Settings,
    store: RecordStore,
    lk: tuple[LiveKitAPI, str],
    campaign: Outcome,
    outcome: CallOutcome,
) -> None:
    job = await attempt(settings, lk, (campaign, f"{campaign} detail"), dials=True)
    (record,) = store.list(CallFilter())[0]
    assert record.outcome is outcome and record.detail == f"{campaign} detail"
    assert record.answered_at is not None and record.sip_call_id
    assert len(job.on_shutdown) == 1  # a crash later still finishes (idempotently)


async def test_an_attempt_that_never_dialled_leaves_no_record(
    settings: Settings, store: RecordStore, lk: tuple[LiveKitAPI, str]
) -> None:
    job = await attempt(settings, lk, (None, ""), dials=False)
    assert store.list(CallFilter())[0] == [] and job.on_shutdown == []


async def test_turns_spoken_while_a_provider_is_down_are_noted(
    settings: Settings, store: RecordStore, lk: tuple[LiveKitAPI, str]
) -> None:
    """The reminder's record names its degraded turns, as the receptionist's does: the
    pipeline reports a fallback to the recording even before the record is open."""
    client, trunk_id = lk
    session = FakeSession()
    recording = OutboundRecording(
        FakeJob(),  # type: ignore[arg-type]
        session,  # type: ignore[arg-type]
        CallStart(Direction.OUTBOUND, room="dt-attempt-a1", called_number=CALLEE, attempt_id="a1"),
        settings=settings,
    )
    recording.provider_changed("tts", "openai", False)  # down before the dial
    plan = CallPlan(trunk_id, CALLEE, "+15550100100", "dt-attempt-a1", 20, 600)
    await dial(recording.sip(client.sip), plan)  # type: ignore[arg-type]
    spoken = ChatMessage(role="assistant", content=["Hello, this is the clinic."])
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=spoken))
    await recording.finish(Outcome.COMPLETED, "reminder delivered")
    (record,) = store.list(CallFilter())[0]
    assert record.detail is not None and "degraded turns 1" in record.detail
    assert "openai" in record.detail
