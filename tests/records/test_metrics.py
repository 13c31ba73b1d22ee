"""A scripted set of calls, then every telephony metric checked against exact values and
against the call records the same calls left."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from livekit.agents.llm import ChatMessage
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    CloseEvent,
    CloseReason,
    ConversationItemAddedEvent,
)
from livekit.api.twirp_client import SipCallError
from livekit.rtc import EventEmitter
from prometheus_client import CollectorRegistry

from dialtone.records.metrics import CallMetrics
from dialtone.records.models import CallOutcome, Direction, HangupBy
from dialtone.records.recorder import CallRecorder
from dialtone.records.store import CallFilter, CallStart, RecordStore
from dialtone.telephony.outcomes import TransferOutcome, TransferResult, record_transfer
from dialtone.telephony.sip_status import classify_dial_error
from dialtone.turn_metrics import TurnMetrics

from .conftest import Clock


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


class Turns:
    def __init__(self, *e2e: float) -> None:
        self.turns = [
            TurnMetrics(i + 1, 0.5, 0.1, e / 2, e / 4, e, False) for i, e in enumerate(e2e)
        ]


class FakeSession(EventEmitter[str]):
    """Emits the session events the recorder listens to (the real ones, by name)."""

    def state(self, new: str) -> None:
        self.emit(
            "agent_state_changed", AgentStateChangedEvent(old_state="listening", new_state=new)
        )  # type: ignore[arg-type]

    def said(self, role: str, text: str, *, interrupted: bool = False) -> None:
        item = ChatMessage(role=role, content=[text], interrupted=interrupted)  # type: ignore[arg-type]
        self.emit("conversation_item_added", ConversationItemAddedEvent(item=item))

    def closed(self, reason: CloseReason) -> None:
        self.emit("close", CloseEvent(reason=reason))


def sip_error(code: int, reason: str) -> SipCallError:
    return SipCallError(
        "resource_exhausted",
        reason,
        status=429,
        metadata={"sip_status_code": str(code), "sip_status": reason},
    )


async def call(
    store: RecordStore, metrics: CallMetrics, clock: Clock, direction: Direction, **kw: str
) -> tuple[CallRecorder, FakeSession]:
    recorder = CallRecorder(store, CallStart(direction, **kw), metrics=metrics, clock=clock)  # type: ignore[arg-type]
    await recorder.start()
    session = FakeSession()
    return recorder, session


@pytest.fixture
async def scripted(store: RecordStore, metrics: CallMetrics, clock: Clock) -> RecordStore:
    """Nine calls, each ending a different way."""
    # 1. inbound, answered, two turns (0.6 s and 1.2 s), the agent says goodbye and hangs up
    rec, s = await call(store, metrics, clock, Direction.INBOUND, room="in1", sip_call_id="SCL_1")
    rec.attach(s, Turns(0.6, 1.2))  # type: ignore[arg-type]
    rec.answered()
    s.state("speaking")
    s.said("assistant", "Goodbye!")
    s.state("listening")
    s.closed(CloseReason.USER_INITIATED)
    clock.advance(30)
    await rec.finish()
    # 2. inbound, answered, the caller hangs up while the agent is speaking: a drop
    rec, s = await call(store, metrics, clock, Direction.INBOUND, room="in2", sip_call_id="SCL_2")
    rec.attach(s, Turns(0.9))  # type: ignore[arg-type]
    rec.answered()
    s.state("speaking")
    s.said("assistant", "Let me explain our whole", interrupted=True)
    s.closed(CloseReason.PARTICIPANT_DISCONNECTED)
    clock.advance(10)
    await rec.finish()
    # 3. inbound, the caller left before the agent picked up
    rec, s = await call(store, metrics, clock, Direction.INBOUND, room="in3", sip_call_id="SCL_3")
    rec.attach(s)  # type: ignore[arg-type]
    s.closed(CloseReason.PARTICIPANT_DISCONNECTED)
    await rec.finish()
    # 4. inbound, answered, the session failed (provider error): a drop with an error
    rec, s = await call(store, metrics, clock, Direction.INBOUND, room="in4", sip_call_id="SCL_4")
    rec.attach(s)  # type: ignore[arg-type]
    rec.answered()
    s.closed(CloseReason.ERROR)
    await rec.finish()
    # 5. inbound, answered, handed to a human (warm transfer completed)
    rec, s = await call(store, metrics, clock, Direction.INBOUND, room="in5", sip_call_id="SCL_5")
    rec.attach(s)  # type: ignore[arg-type]
    rec.answered()
    record_transfer(
        TransferResult(TransferOutcome.COMPLETED, "front desk", "warm", "bridge"), call_id="SCL_5"
    )
    s.closed(CloseReason.USER_INITIATED)
    await rec.finish()
    # 6. outbound: rings after 2 s, answered after 5 s
    rec, s = await call(store, metrics, clock, Direction.OUTBOUND, room="dt-attempt-6")
    rec.dialing()
    clock.advance(2)
    rec.ringing()
    clock.advance(3)
    rec.answered()
    clock.advance(60)
    rec.hung_up(HangupBy.CALLER, "participant left: client_initiated")
    await rec.finish()
    # 7. outbound: busy
    rec, s = await call(store, metrics, clock, Direction.OUTBOUND, room="dt-attempt-7")
    rec.dialing()
    rec.dial_failed(classify_dial_error(sip_error(486, "Busy Here")))
    await rec.finish()
    # 8. outbound: the carrier failed (503): a setup failure
    rec, s = await call(store, metrics, clock, Direction.OUTBOUND, room="dt-attempt-8")
    rec.dialing()
    rec.dial_failed(classify_dial_error(sip_error(503, "Service Unavailable")))
    await rec.finish()
    # 9. inbound, answered, the worker died: closed by the lease
    rec, s = await call(store, metrics, clock, Direction.INBOUND, room="in9", sip_call_id="SCL_9")
    rec.answered()
    await rec.settled()
    assert rec._heartbeat is not None
    rec._heartbeat.cancel()  # the process is gone: nobody renews or finishes
    metrics.in_progress.labels("inbound").dec()  # what the dead process's livesum gauge does
    clock.advance(120)
    for record in store.close_expired(clock()):
        metrics.call_closed(record)
    return store


async def test_calls_by_direction_and_outcome_match_the_records(
    scripted: RecordStore, registry: CollectorRegistry
) -> None:
    records, _ = scripted.list(CallFilter(), limit=100)
    assert len(records) == 9
    by_record = Counter((r.direction.value, r.outcome.value) for r in records if r.outcome)
    assert by_record == {
        ("inbound", "completed"): 3,
        ("inbound", "abandoned"): 1,
        ("inbound", "transferred"): 1,
        ("inbound", "worker_lost"): 1,
        ("outbound", "completed"): 1,
        ("outbound", "busy"): 1,
        ("outbound", "failed"): 1,
    }
    assert by_record[("inbound", "completed")] == 3  # 1, 2 (dropped) and 4 (error)
    for direction in ("inbound", "outbound"):
        for outcome in CallOutcome:
            assert value(
                registry, "dialtone_calls_total", direction=direction, outcome=outcome.value
            ) == by_record.get((direction, outcome.value), 0), (direction, outcome)


async def test_answer_setup_and_drop_counters(
    scripted: RecordStore, registry: CollectorRegistry
) -> None:
    assert value(registry, "dialtone_calls_answered_total", direction="inbound") == 5
    assert value(registry, "dialtone_calls_answered_total", direction="outbound") == 1
    assert value(registry, "dialtone_call_setup_total", direction="outbound", result="failure") == 1
    assert value(registry, "dialtone_call_setup_total", direction="outbound", result="success") == 2
    assert value(registry, "dialtone_call_setup_total", direction="inbound", result="success") == 6
    assert (
        value(registry, "dialtone_calls_dropped_total", direction="inbound", reason="agent_turn")
        == 1
    )
    assert value(registry, "dialtone_calls_dropped_total", direction="inbound", reason="error") == 1
    assert (
        value(registry, "dialtone_calls_dropped_total", direction="inbound", reason="worker_lost")
        == 1
    )
    records, _ = scripted.list(CallFilter(), limit=100)
    assert sum(r.dropped for r in records) == 3
    assert value(registry, "dialtone_calls_in_progress", direction="inbound") == 0
    assert value(registry, "dialtone_calls_in_progress", direction="outbound") == 0


async def test_latency_post_dial_delay_and_transfer_histograms(
    scripted: RecordStore, registry: CollectorRegistry
) -> None:
    assert value(registry, "dialtone_turn_response_seconds_count", direction="inbound") == 3
    assert value(
        registry, "dialtone_turn_response_seconds_sum", direction="inbound"
    ) == pytest.approx(2.7)
    assert (
        value(registry, "dialtone_turn_response_seconds_bucket", direction="inbound", le="1.0") == 2
    )
    assert value(registry, "dialtone_llm_ttft_seconds_sum", direction="inbound") == pytest.approx(
        1.35
    )
    assert value(registry, "dialtone_tts_ttfb_seconds_sum", direction="inbound") == pytest.approx(
        0.675
    )
    assert value(
        registry, "dialtone_post_dial_delay_seconds_sum", stage="ringing"
    ) == pytest.approx(2)
    assert value(registry, "dialtone_post_dial_delay_seconds_sum", stage="answer") == pytest.approx(
        5
    )
    assert value(registry, "dialtone_post_dial_delay_seconds_count", stage="answer") == 1
    assert value(registry, "dialtone_transfers_total", kind="warm", outcome="completed") == 1
    assert value(
        registry, "dialtone_call_duration_seconds_sum", direction="outbound"
    ) == pytest.approx(60)


async def test_the_records_hold_what_the_metrics_summarize(scripted: RecordStore) -> None:
    records = {r.room: r for r in scripted.list(CallFilter(), limit=100)[0]}
    first = records["in1"]
    assert first.hangup_by is HangupBy.AGENT and not first.dropped
    assert first.latency.turns == 2
    assert (first.latency.response_median_ms, first.latency.response_p95_ms) == (900.0, 1200.0)
    second = records["in2"]
    assert second.dropped and second.hangup_by is HangupBy.CALLER and second.interruptions == 1
    assert records["in4"].detail == "session error"
    assert records["in5"].transfer_outcome == "completed"
    busy = records["dt-attempt-7"]
    assert (busy.sip_status_code, busy.sip_status) == (486, "Busy Here")
    six = records["dt-attempt-6"]
    assert six.ringing_at is not None and six.answered_at is not None
    assert (six.answered_at - six.ringing_at) == timedelta(seconds=3)
