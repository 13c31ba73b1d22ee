"""`CallRecorder` end to end: an answered call through a real AgentSession, outbound dials
against the LiveKit double (answered and each SIP failure family), a transfer through
the real TransferDesk, and a worker killed with SIGKILL mid-call."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from livekit.agents import AgentSession
from livekit.agents.llm import ChatContext
from livekit.api import LiveKitAPI
from livekit.protocol.sip import (
    CreateSIPOutboundTrunkRequest,
    CreateSIPParticipantRequest,
    SIPOutboundTrunkInfo,
)
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from dialtone.db.engine import make_engine, sqlite_url
from dialtone.db.tables import call_records
from dialtone.inbound.call import CallContext
from dialtone.messages.store import MessageStore
from dialtone.personas import PersonaBook, TransferTarget
from dialtone.records.metrics import CallMetrics
from dialtone.records.models import CallOutcome, Direction, HangupBy, RecordStatus
from dialtone.records.recorder import CallRecorder
from dialtone.records.store import CallStart, RecordStore
from dialtone.telephony.caller import CallerInfo
from dialtone.telephony.sip_status import DialFailed
from dialtone.telephony.transfer import LiveKitApiCalls, TransferDesk
from tests.fakes import Reply, ScriptedLLM, last_item_type, last_user_text
from tests.livekit_double import LiveKitDouble
from tests.programs import receptionist

from .conftest import Clock

Receptionist = receptionist.Receptionist

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
CALLEE = "+15550200001"
HUMAN = "+15550100111"
OPEN_TIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


class Hangup:
    async def hang_up(self, reason: str) -> None:
        pass


def respond(chat_ctx: ChatContext) -> Reply:
    if last_item_type(chat_ctx) == "function_call_output":
        return Reply("I've passed your message on.")
    if "message" in last_user_text(chat_ctx):
        return Reply(tool_calls=[("take_message", {"message": "Jane, call me back"})])
    return Reply("We are open nine to five.")


async def test_an_answered_inbound_call_leaves_one_full_record(
    store: RecordStore, metrics: CallMetrics, registry: CollectorRegistry, tmp_path: Path
) -> None:
    persona = PersonaBook.load(PERSONAS, "receptionist").pick()
    call = CallContext(
        persona=persona,
        caller=CallerInfo(phone_number="+15551230000", call_id="SCL_answered"),
        room="room-a",
        messages=MessageStore(make_engine(sqlite_url(tmp_path))),
        control=Hangup(),
    )
    recorder = CallRecorder(
        store,
        CallStart(
            Direction.INBOUND,
            room="room-a",
            sip_call_id="SCL_answered",
            caller_number="+15551230000",
            persona="receptionist",
        ),
        metrics=metrics,
    )
    await recorder.start()
    assert value(registry, "dialtone_calls_in_progress", direction="inbound") == 1
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        recorder.attach(session)
        await session.start(Receptionist(call))
        recorder.answered()
        await session.run(user_input="What are your hours?")
        await session.run(user_input="Can I leave a message?")
        recorder.hung_up(HangupBy.CALLER, "participant left: client_initiated")
    record = await recorder.finish()
    assert record is not None
    stored = store.get(record.id)
    assert stored is not None and stored.status is RecordStatus.ENDED
    assert stored.outcome is CallOutcome.COMPLETED and not stored.dropped
    assert stored.hangup_by is HangupBy.CALLER
    assert stored.disconnect_reason == "participant left: client_initiated"
    assert stored.tools == ["take_message"]
    assert stored.transcript is not None
    said = [(line.speaker, line.text) for line in stored.transcript]
    assert ("caller", "What are your hours?") in said
    assert ("agent", "We are open nine to five.") in said
    assert ("agent", "I've passed your message on.") in said
    assert stored.answered_at is not None and stored.started_at <= stored.answered_at
    assert value(registry, "dialtone_calls_total", direction="inbound", outcome="completed") == 1
    assert value(registry, "dialtone_calls_in_progress", direction="inbound") == 0
    # finish() is idempotent: a second shutdown callback neither writes nor counts again.
    await recorder.finish()
    assert value(registry, "dialtone_calls_total", direction="inbound", outcome="completed") == 1


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


def outbound(attempt: str = "a1") -> CallStart:
    return CallStart(
        Direction.OUTBOUND,
        room=f"dt-attempt-{attempt}",
        caller_number="+15550100100",
        called_number=CALLEE,
        trunk="carrier-outbound",
        persona="reminder",
        campaign_id="c1",
        attempt_id=attempt,
    )


def dial_request(trunk_id: str, room: str) -> CreateSIPParticipantRequest:
    return CreateSIPParticipantRequest(
        sip_trunk_id=trunk_id,
        sip_call_to=CALLEE,
        room_name=room,
        participant_identity="callee",
        wait_until_answered=True,
    )


async def test_an_answered_outbound_dial_records_the_post_dial_delay(
    store: RecordStore,
    metrics: CallMetrics,
    registry: CollectorRegistry,
    lk: tuple[LiveKitAPI, str],
    livekit_double: LiveKitDouble,
) -> None:
    client, trunk_id = lk
    livekit_double.sip.script_call(CALLEE, delay=0.4)
    recorder = CallRecorder(store, outbound(), metrics=metrics)
    await recorder.start()
    info = await recorder.dial(
        client.sip.create_sip_participant(dial_request(trunk_id, "dt-attempt-a1"))
    )
    recorder.set_outcome(CallOutcome.VOICEMAIL, "a machine answered")
    record = await recorder.finish()
    assert record is not None
    stored = store.get(record.id)
    assert stored is not None and stored.outcome is CallOutcome.VOICEMAIL
    assert stored.sip_call_id == info.sip_call_id != ""
    assert stored.answered_at is not None and stored.detail == "a machine answered"
    pdd = value(registry, "dialtone_post_dial_delay_seconds_sum", stage="answer")
    assert 0.4 <= pdd < 3.0
    assert value(registry, "dialtone_post_dial_delay_seconds_count", stage="answer") == 1
    assert value(registry, "dialtone_calls_answered_total", direction="outbound") == 1


async def test_who_answered_and_how_long_it_took_are_on_the_record(
    store: RecordStore,
    metrics: CallMetrics,
    registry: CollectorRegistry,
    lk: tuple[LiveKitAPI, str],
    livekit_double: LiveKitDouble,
) -> None:
    client, trunk_id = lk
    livekit_double.sip.script_call(CALLEE, delay=0.0)
    recorder = CallRecorder(store, outbound(), metrics=metrics)
    await recorder.start()
    await recorder.dial(client.sip.create_sip_participant(dial_request(trunk_id, "dt-attempt-a2")))
    recorder.answer_decided("screening", 2.125)
    recorder.set_outcome(CallOutcome.COMPLETED, "screened, then the person picked up: confirmed")
    record = await recorder.finish()
    assert record is not None
    stored = store.get(record.id)
    assert stored is not None
    assert (stored.answer, stored.answer_decided_ms) == ("screening", 2125.0)
    assert value(registry, "dialtone_answer_decision_seconds_sum", answer="screening") == 2.125
    assert value(registry, "dialtone_answer_decision_seconds_count", answer="human") == 0


@pytest.mark.parametrize(
    ("code", "reason", "outcome", "setup"),
    [
        (486, "Busy Here", CallOutcome.BUSY, "success"),
        (600, "Busy Everywhere", CallOutcome.BUSY, "success"),
        (480, "Temporarily Unavailable", CallOutcome.NO_ANSWER, "success"),
        (404, "Not Found", CallOutcome.INVALID_NUMBER, "success"),
        (484, "Address Incomplete", CallOutcome.INVALID_NUMBER, "success"),
        (603, "Decline", CallOutcome.DECLINED, "success"),
        (403, "Forbidden", CallOutcome.FAILED, "failure"),
        (488, "Not Acceptable Here", CallOutcome.FAILED, "failure"),
        (503, "Service Unavailable", CallOutcome.FAILED, "failure"),
    ],
)
async def test_a_failed_dial_records_its_sip_status(
    store: RecordStore,
    metrics: CallMetrics,
    registry: CollectorRegistry,
    lk: tuple[LiveKitAPI, str],
    livekit_double: LiveKitDouble,
    code: int,
    reason: str,
    outcome: CallOutcome,
    setup: str,
) -> None:
    client, trunk_id = lk
    livekit_double.sip.script_call(CALLEE, sip_status_code=code, sip_status=reason)
    recorder = CallRecorder(store, outbound(), metrics=metrics)
    await recorder.start()
    with pytest.raises(DialFailed):  # classified once; the dial's own error is the cause
        await recorder.dial(
            client.sip.create_sip_participant(dial_request(trunk_id, "dt-attempt-a1"))
        )
    record = await recorder.finish()
    assert record is not None
    stored = store.get(record.id)
    assert stored is not None
    assert (stored.outcome, stored.sip_status_code, stored.sip_status) == (outcome, code, reason)
    assert stored.answered_at is None and stored.hangup_by is HangupBy.CALLER
    assert value(registry, "dialtone_call_setup_total", direction="outbound", result=setup) == 1
    assert value(registry, "dialtone_calls_answered_total", direction="outbound") == 0


async def test_a_ringing_timeout_is_no_answer(
    store: RecordStore,
    metrics: CallMetrics,
    lk: tuple[LiveKitAPI, str],
    livekit_double: LiveKitDouble,
) -> None:
    client, trunk_id = lk
    livekit_double.sip.script_call(CALLEE, ringing_timeout=True)
    recorder = CallRecorder(store, outbound(), metrics=metrics)
    await recorder.start()
    with pytest.raises(DialFailed):
        await recorder.dial(
            client.sip.create_sip_participant(dial_request(trunk_id, "dt-attempt-a1"))
        )
    record = await recorder.finish()
    assert record is not None and record.outcome is CallOutcome.NO_ANSWER
    assert record.sip_status_code is None and record.hangup_by is HangupBy.SYSTEM


def warm() -> TransferTarget:
    return TransferTarget.model_validate(
        {
            "name": "front desk",
            "phone": HUMAN,
            "outbound_trunk": "carrier-outbound",
            "hours": "Mon-Fri 08:00-17:00 America/New_York",
        }
    )


class Side:
    async def start_hold(self) -> None: ...
    async def stop_hold(self) -> None: ...
    async def say(self, text: str) -> None: ...
    async def leave(self) -> None: ...


@pytest.mark.parametrize(
    ("scripted", "outcome", "transfer"),
    [(None, CallOutcome.TRANSFERRED, "completed"), (486, CallOutcome.COMPLETED, "busy")],
)
async def test_a_transfer_through_the_desk_is_on_the_record(
    store: RecordStore,
    metrics: CallMetrics,
    registry: CollectorRegistry,
    lk: tuple[LiveKitAPI, str],
    livekit_double: LiveKitDouble,
    scripted: int | None,
    outcome: CallOutcome,
    transfer: str,
) -> None:
    client, _ = lk
    if scripted is not None:
        livekit_double.sip.script_call(HUMAN, sip_status_code=scripted, sip_status="Busy Here")
    livekit_double.add_participant(
        "room-t", "caller", kind="sip", attributes={"sip.callID": "SCL_t"}
    )
    desk = TransferDesk(
        LiveKitApiCalls(client),
        room="room-t",
        caller_identity="caller",
        call_id="SCL_t",
        clock=lambda: OPEN_TIME,
    )
    recorder = CallRecorder(
        store, CallStart(Direction.INBOUND, room="room-t", sip_call_id="SCL_t"), metrics=metrics
    )
    other = CallRecorder(  # another call in the same process must not see this transfer
        store, CallStart(Direction.INBOUND, room="room-o", sip_call_id="SCL_other"), metrics=metrics
    )
    await recorder.start()
    await other.start()
    recorder.answered()
    other.answered()
    await desk.warm(warm(), Side(), "brief")
    record = await recorder.finish()
    unrelated = await other.finish()
    assert record is not None and unrelated is not None
    stored = store.get(record.id)
    assert stored is not None
    assert (stored.outcome, stored.transfer_outcome) == (outcome, transfer)
    assert unrelated.transfer_outcome is None and unrelated.outcome is CallOutcome.COMPLETED
    assert value(registry, "dialtone_transfers_total", kind="warm", outcome=transfer) == 1


CRASHING_WORKER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from datetime import timedelta
    from dialtone.db.engine import new_engine
    from dialtone.records.models import Direction
    from dialtone.records.recorder import CallRecorder
    from dialtone.records.store import CallStart, RecordStore
    from dialtone.db.tables import call_records

    async def main():
        store = RecordStore(new_engine(sys.argv[1]))
        recorder = CallRecorder(store, CallStart(Direction.INBOUND, room="room-crash",
                                sip_call_id="SCL_crash", caller_number="+15551230000"),
                                lease=timedelta(seconds=60))
        await recorder.start()
        recorder.answered()
        print(recorder.record_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)   # the worker dies mid-call

    asyncio.run(main())
    """
)


def test_a_worker_killed_mid_call_leaves_a_record_the_lease_closes(
    store: RecordStore, db_url: str, metrics: CallMetrics, registry: CollectorRegistry
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_WORKER, db_url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    record_id = done.stdout.strip()
    opened = store.get(record_id)
    assert opened is not None and opened.status is RecordStatus.IN_PROGRESS
    assert store.close_expired(opened.started_at + timedelta(seconds=59)) == []
    (closed,) = store.close_expired(opened.started_at + timedelta(seconds=61))
    metrics.call_closed(closed)
    assert closed.id == record_id and closed.outcome is CallOutcome.WORKER_LOST
    assert closed.hangup_by is HangupBy.SYSTEM and closed.dropped
    assert (
        value(registry, "dialtone_calls_dropped_total", direction="inbound", reason="worker_lost")
        == 1
    )
    assert value(registry, "dialtone_calls_total", direction="inbound", outcome="worker_lost") == 1


async def test_the_lease_is_renewed_while_the_call_runs(store: RecordStore, clock: Clock) -> None:
    recorder = CallRecorder(
        store,
        CallStart(Direction.INBOUND, room="r"),
        clock=clock,
        lease=timedelta(seconds=60),
        renew_every=0.01,
    )
    await recorder.start()
    assert recorder.record_id is not None
    renewed_to = clock.advance(3600) + timedelta(seconds=60)  # an hour into the call

    def lease_until() -> datetime:
        with store.engine.connect() as conn:
            return conn.scalar(
                select(call_records.c.lease_until).where(call_records.c.id == recorder.record_id)
            )

    for _ in range(500):  # the heartbeat runs every 10 ms; give it up to 5 s under load
        if lease_until() == renewed_to:
            break
        await asyncio.sleep(0.01)
    assert lease_until() == renewed_to
    assert store.close_expired(clock.now) == []  # still alive an hour in
    await recorder.finish()
    assert (await asyncio.to_thread(store.get, recorder.record_id)).status is RecordStatus.ENDED  # type: ignore[union-attr]


class Participant:
    def __init__(self, identity: str, reason: int = 0) -> None:
        self.identity = identity
        self.disconnect_reason = reason


async def test_the_room_tells_ringing_and_who_hung_up(
    store: RecordStore, metrics: CallMetrics, registry: CollectorRegistry, clock: Clock
) -> None:
    from livekit.rtc import DisconnectReason, EventEmitter

    room: EventEmitter[str] = EventEmitter()
    recorder = CallRecorder(store, outbound(), metrics=metrics, clock=clock)
    await recorder.start()
    recorder.attach_room(room, "callee")
    recorder.dialing()
    clock.advance(3)
    room.emit("participant_attributes_changed", {"sip.callStatus": "ringing"}, Participant("x"))
    room.emit(
        "participant_attributes_changed", {"sip.callStatus": "ringing"}, Participant("callee")
    )
    clock.advance(4)
    recorder.answered()
    room.emit("participant_disconnected", Participant("x", DisconnectReason.ROOM_DELETED))
    room.emit("participant_disconnected", Participant("callee", DisconnectReason.CLIENT_INITIATED))
    record = await recorder.finish()
    assert record is not None
    assert record.hangup_by is HangupBy.CALLER
    assert record.disconnect_reason == "participant left: client_initiated"
    assert registry.get_sample_value(
        "dialtone_post_dial_delay_seconds_sum", {"stage": "ringing"}
    ) == pytest.approx(3)
    assert registry.get_sample_value(
        "dialtone_post_dial_delay_seconds_sum", {"stage": "answer"}
    ) == pytest.approx(7)
