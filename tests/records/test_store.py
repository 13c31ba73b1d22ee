"""The call record store on SQLite and PostgreSQL: open/close, lease, webhook closings,
keyset paging and filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from dialtone.db.upgrade import head_revision
from dialtone.records.models import CallOutcome, Direction, HangupBy, RecordStatus, TranscriptLine
from dialtone.records.store import (
    BadCursor,
    CallEnd,
    CallFilter,
    CallStart,
    RecordStore,
    encode_cursor,
)

from .conftest import T0, Clock

LEASE = timedelta(seconds=60)
INBOUND = CallStart(
    Direction.INBOUND,
    room="call-_+15551230000_abc",
    sip_call_id="SCL_in1",
    caller_number="+15551230000",
    called_number="+15550100100",
    trunk="ST_in",
    persona="receptionist",
)


def test_migration_creates_the_table_and_its_indexes(engine: Engine) -> None:
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    names = {ix["name"] for ix in inspect(engine).get_indexes("call_records")}
    assert {
        "ix_call_records_started",
        "ix_call_records_direction",
        "ix_call_records_outcome",
        "ix_call_records_dir_outcome",
        "ix_call_records_open",
    } <= names


def test_open_then_close_writes_the_whole_record(store: RecordStore, clock: Clock) -> None:
    record_id = store.open(INBOUND, clock(), LEASE)
    opened = store.get(record_id)
    assert opened is not None and opened.status is RecordStatus.IN_PROGRESS
    assert opened.outcome is None and opened.caller_number == "+15551230000"
    end = CallEnd(
        outcome=CallOutcome.COMPLETED,
        ended_at=clock.advance(42),
        hangup_by=HangupBy.AGENT,
        disconnect_reason="agent ended the call",
        answered_at=T0 + timedelta(seconds=1),
        tools=["take_message", "end_call"],
        transcript=[TranscriptLine(at=1.0, speaker="caller", text="what are your hours")],
    )
    assert store.close(record_id, end)
    closed = store.get(record_id)
    assert closed is not None
    assert closed.status is RecordStatus.ENDED and closed.outcome is CallOutcome.COMPLETED
    assert closed.ended_at == T0 + timedelta(seconds=42)
    assert closed.tools == ["take_message", "end_call"]
    assert closed.closed_by == "worker" and closed.hangup_by is HangupBy.AGENT
    assert closed.transcript is not None and closed.transcript[0].text == "what are your hours"
    # A second closing by an agent is refused: one call, one final record.
    assert not store.close(record_id, end)


def test_an_expired_lease_closes_the_record_as_worker_lost(
    store: RecordStore, clock: Clock
) -> None:
    lost = store.open(INBOUND, clock(), LEASE)
    alive = store.open(INBOUND, clock(), LEASE)
    clock.advance(50)
    assert store.renew(alive, clock(), LEASE)
    clock.advance(20)  # lost's lease ran out 10 s ago; alive's runs until +110 s
    closed = store.close_expired(clock())
    assert [r.id for r in closed] == [lost]
    record = store.get(lost)
    assert record is not None and record.outcome is CallOutcome.WORKER_LOST
    assert record.closed_by == "lease" and record.dropped
    assert record.ended_at == T0 + LEASE
    assert store.close_expired(clock()) == []  # closed once
    still = store.get(alive)
    assert still is not None and still.status is RecordStatus.IN_PROGRESS
    # The agent that was only slow still writes what it knows over the lease's guess.
    late = CallEnd(outcome=CallOutcome.COMPLETED, ended_at=clock())
    assert store.close(lost, late)
    fixed = store.get(lost)
    assert fixed is not None and fixed.outcome is CallOutcome.COMPLETED


def test_room_finished_gives_open_records_a_short_grace(store: RecordStore, clock: Clock) -> None:
    record_id = store.open(INBOUND, clock(), LEASE)
    assert store.room_finished(INBOUND.room or "", clock(), timedelta(seconds=15)) == 1
    assert store.close_expired(clock.advance(14)) == []
    (closed,) = store.close_expired(clock.advance(2))
    assert closed.id == record_id and closed.outcome is CallOutcome.WORKER_LOST


def test_a_caller_who_left_before_any_agent_gets_an_abandoned_record(
    store: RecordStore, clock: Clock
) -> None:
    result, created = store.caller_left(INBOUND, clock(), "participant left: client_initiated")
    assert result == "created" and created is not None
    assert created.outcome is CallOutcome.ABANDONED and created.hangup_by is HangupBy.CALLER
    assert created.closed_by == "webhook" and created.status is RecordStatus.ENDED
    # The same call's second event creates nothing more.
    assert store.caller_left(INBOUND, clock(), "again") == ("noted", None)
    assert len(store.list(CallFilter())[0]) == 1


def test_caller_left_on_an_open_record_only_notes_it(store: RecordStore, clock: Clock) -> None:
    record_id = store.open(INBOUND, clock(), LEASE)
    assert store.caller_left(INBOUND, clock.advance(5), "participant left: client_initiated")[
        0
    ] == ("noted")
    # The agent died too: the lease closes it, and knows the caller hung up.
    (closed,) = store.close_expired(clock.advance(120))
    assert closed.id == record_id and closed.hangup_by is HangupBy.CALLER
    assert closed.outcome is CallOutcome.ABANDONED  # never answered
    assert closed.ended_at == T0 + timedelta(seconds=5)


def _seed(store: RecordStore, n: int) -> list[tuple[str, Direction, CallOutcome, int]]:
    made = []
    for i in range(n):
        direction = Direction.OUTBOUND if i % 3 == 0 else Direction.INBOUND
        outcome = [CallOutcome.COMPLETED, CallOutcome.BUSY, CallOutcome.NO_ANSWER][
            i % 2 + (i % 5 == 0)
        ]
        start = CallStart(direction, room=f"r{i}", sip_call_id=f"SCL_{i}")
        # Two calls share each second, so paging must break ties by id.
        at = T0 + timedelta(seconds=i // 2)
        record_id = store.insert_closed(start, CallEnd(outcome=outcome, ended_at=at), at)
        made.append((record_id, direction, outcome, i // 2))
    return made


def test_keyset_pages_cover_every_record_once_newest_first(store: RecordStore) -> None:
    made = _seed(store, 23)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page, cursor = store.list(CallFilter(), limit=5, cursor=cursor)
        seen += [r.id for r in page]
        pages += 1
        if cursor is None:
            break
    assert pages == 5 and len(seen) == 23 and set(seen) == {m[0] for m in made}
    order = {m[0]: (m[3], m[0]) for m in made}
    assert seen == sorted(seen, key=lambda i: order[i], reverse=True)


def test_filters_combine(store: RecordStore) -> None:
    made = _seed(store, 30)
    since, until = T0 + timedelta(seconds=3), T0 + timedelta(seconds=11)
    page, _ = store.list(CallFilter(Direction.INBOUND, CallOutcome.BUSY, since, until), limit=500)
    expected = {
        m[0]
        for m in made
        if m[1] is Direction.INBOUND and m[2] is CallOutcome.BUSY and 3 <= m[3] < 11
    }
    assert expected and {r.id for r in page} == expected
    outbound, _ = store.list(CallFilter(direction=Direction.OUTBOUND), limit=500)
    assert {r.id for r in outbound} == {m[0] for m in made if m[1] is Direction.OUTBOUND}
    assert all(r.transcript is None for r in outbound)  # lists never carry transcripts


def test_a_forged_cursor_is_refused(store: RecordStore) -> None:
    with pytest.raises(BadCursor, match="cursor"):
        store.list(CallFilter(), cursor="not-a-cursor")
    # A well-formed cursor pointing past everything is simply an empty page.
    page, nxt = store.list(CallFilter(), cursor=encode_cursor(T0, "0"))
    assert page == [] and nxt is None


def test_an_agent_that_starts_after_the_webhook_adopts_its_record(
    store: RecordStore, clock: Clock
) -> None:
    _, created = store.caller_left(INBOUND, clock(), "participant left: client_initiated")
    assert created is not None
    record_id = store.open(INBOUND, clock.advance(1), LEASE)
    assert record_id == created.id
    reopened = store.get(record_id)
    assert reopened is not None and reopened.status is RecordStatus.IN_PROGRESS
    assert reopened.outcome is None and reopened.closed_by is None
    store.close(record_id, CallEnd(outcome=CallOutcome.ABANDONED, ended_at=clock.advance(1)))
    (only,), _ = store.list(CallFilter())
    assert only.id == record_id and only.closed_by == "worker"
