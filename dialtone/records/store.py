"""The `call_records` table and every read and write of it.

A record is written twice by the agent that handles the call: a partial row when the
call starts (`open`, status `in_progress`, with a lease the agent renews while the call
runs) and the full row when it ends (`close`). If the agent dies, nobody renews the
lease and `close_expired` (run by the API and by every worker at each call start)
closes the row as `worker_lost`; LiveKit's webhook shortens the lease when the room is
gone (`room_finished`) and records callers who hung up before any agent joined
(`caller_left`). Every write applies the retention policy first.

Lists are keyset-paged on `(started_at, id)`, newest first, with one composite index per
filter combination the API offers, so a page costs an index range scan whatever the
table's size.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    String,
    and_,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from ..db import rollup
from ..db.engine import read_only
from ..db.tables import call_records
from ..db.types import UTCDateTime
from .models import (
    CallOutcome,
    CallRecord,
    Direction,
    HangupBy,
    LatencySummary,
    RecordStatus,
    TranscriptLine,
)
from .retention import Retention

LIST_COLUMNS = [c for c in call_records.c if c.name != "transcript"]


class BadCursor(ValueError):
    """A `cursor` that this API did not hand out."""


@dataclass(frozen=True)
class CallStart:
    """What is known when a call starts: written as the partial record."""

    direction: Direction
    room: str | None = None
    sip_call_id: str | None = None
    caller_number: str | None = None
    called_number: str | None = None
    trunk: str | None = None
    persona: str | None = None
    campaign_id: str | None = None
    attempt_id: str | None = None


@dataclass
class CallEnd:
    """Everything the agent learned, written once when the call ends."""

    outcome: CallOutcome
    ended_at: datetime
    hangup_by: HangupBy = HangupBy.UNKNOWN
    disconnect_reason: str | None = None
    sip_call_id: str | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    sip_status_code: int | None = None
    sip_status: str | None = None
    transfer_outcome: str | None = None
    dropped: bool = False
    tools: list[str] = field(default_factory=list)
    latency: LatencySummary = field(default_factory=LatencySummary)
    interruptions: int = 0
    transcript: list[TranscriptLine] = field(default_factory=list)
    detail: str | None = None
    answer: str | None = None
    answer_decided_ms: float | None = None


@dataclass(frozen=True)
class CallFilter:
    direction: Direction | None = None
    outcome: CallOutcome | None = None
    since: datetime | None = None  # started_at >= since
    until: datetime | None = None  # started_at < until


def encode_cursor(started_at: datetime, record_id: str) -> str:
    raw = f"{started_at.astimezone(UTC).isoformat()}|{record_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, record_id = raw.split("|", 1)
        started = datetime.fromisoformat(when)
    except (ValueError, UnicodeDecodeError):
        raise BadCursor("cursor: not a cursor this API returned; use next_cursor as is") from None
    if started.tzinfo is None or not record_id:
        raise BadCursor("cursor: not a cursor this API returned; use next_cursor as is")
    return started, record_id


def reversed_number(number: str | None) -> str | None:
    """The stored number back to front: a suffix search becomes an index range."""
    return None if number is None else number[::-1]


def _tracked(conn: Connection, record_id: str, statement: Any) -> CursorResult[Any]:
    """Run an UPDATE of one record and move the overview's counters with it."""
    this = call_records.c.id == record_id
    before = conn.execute(select(*rollup.COLUMNS).where(this).with_for_update()).all()
    result: CursorResult[Any] = conn.execute(statement)
    if result.rowcount:
        after = conn.execute(select(*rollup.COLUMNS).where(this)).all()
        rollup.apply(conn, removed=before, added=after)
    return result


def _floats(row: Any, prefix: str) -> tuple[float | None, float | None]:
    return getattr(row, f"{prefix}_median_ms"), getattr(row, f"{prefix}_p95_ms")


def _to_record(row: Any, *, with_transcript: bool) -> CallRecord:
    mapping = row._mapping
    transcript: list[TranscriptLine] | None = None
    if with_transcript and mapping.get("transcript") is not None:
        transcript = [TranscriptLine.model_validate(x) for x in json.loads(row.transcript)]
    rm, rp = _floats(row, "response")
    lm, lp = _floats(row, "llm_ttft")
    tm, tp = _floats(row, "tts_ttfb")
    return CallRecord(
        id=row.id,
        status=RecordStatus(row.status),
        direction=Direction(row.direction),
        sip_call_id=row.sip_call_id,
        room=row.room,
        caller_number=row.caller_number,
        called_number=row.called_number,
        trunk=row.trunk,
        persona=row.persona,
        campaign_id=row.campaign_id,
        attempt_id=row.attempt_id,
        started_at=row.started_at,
        ringing_at=row.ringing_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        outcome=None if row.outcome is None else CallOutcome(row.outcome),
        hangup_by=None if row.hangup_by is None else HangupBy(row.hangup_by),
        disconnect_reason=row.disconnect_reason,
        sip_status_code=row.sip_status_code,
        sip_status=row.sip_status,
        transfer_outcome=row.transfer_outcome,
        dropped=bool(row.dropped),
        tools=json.loads(row.tools),
        latency=LatencySummary(
            turns=row.turns,
            response_median_ms=rm,
            response_p95_ms=rp,
            llm_ttft_median_ms=lm,
            llm_ttft_p95_ms=lp,
            tts_ttfb_median_ms=tm,
            tts_ttfb_p95_ms=tp,
        ),
        interruptions=row.interruptions,
        closed_by=row.closed_by,
        detail=row.detail,
        answer=row.answer,
        answer_decided_ms=row.answer_decided_ms,
        transcript=transcript,
    )


class RecordStore:
    """Call records over an engine from `db.engine.make_engine`, upgraded (`db.upgrade`)."""

    def __init__(self, engine: Engine, retention: Retention | None = None) -> None:
        self.engine = engine
        self.retention = retention or Retention()

    def _read(self) -> AbstractContextManager[Connection]:
        return read_only(self.engine)

    def _start_values(self, start: CallStart, now: datetime) -> dict[str, Any]:
        caller = self.retention.number(start.caller_number)
        called = self.retention.number(start.called_number)
        return {
            "direction": start.direction.value,
            "room": start.room,
            "sip_call_id": start.sip_call_id,
            "caller_number": caller,
            "called_number": called,
            "caller_number_rev": reversed_number(caller),
            "called_number_rev": reversed_number(called),
            "trunk": start.trunk,
            "persona": start.persona,
            "campaign_id": start.campaign_id,
            "attempt_id": start.attempt_id,
            "started_at": now,
            "updated_at": now,
            "dropped": False,
            "tools": "[]",
            "turns": 0,
            "interruptions": 0,
        }

    # --- the agent's writes -----------------------------------------------------------

    def open(self, start: CallStart, now: datetime, lease: timedelta) -> str:
        """Write the partial record of a call that starts now; returns its id."""
        values = self._start_values(start, now)
        values.update(status=RecordStatus.IN_PROGRESS.value, lease_until=now + lease)
        with self.engine.begin() as conn:
            if start.sip_call_id:
                # LiveKit's webhook may have recorded this call as abandoned while the
                # agent was starting (the caller left in between): one call, one record.
                adopted = conn.scalar(
                    select(call_records.c.id).where(
                        call_records.c.sip_call_id == start.sip_call_id,
                        call_records.c.closed_by == "webhook",
                    )
                )
                if adopted is not None:
                    values.update(outcome=None, ended_at=None, closed_by=None, detail=None)
                    _tracked(
                        conn,
                        adopted,
                        update(call_records).where(call_records.c.id == adopted).values(**values),
                    )
                    return str(adopted)
            record_id = uuid.uuid4().hex
            conn.execute(insert(call_records).values(id=record_id, **values))
            rollup.apply(conn, added=[values])
        return record_id

    def renew(self, record_id: str, now: datetime, lease: timedelta) -> bool:
        """Extend the lease of an open record; False if it was closed meanwhile."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(call_records)
                .where(
                    call_records.c.id == record_id,
                    call_records.c.status == RecordStatus.IN_PROGRESS.value,
                )
                .values(lease_until=now + lease)
            )
        return result.rowcount == 1

    def mark_answered(self, record_id: str, at: datetime) -> None:
        """Note the answer on the open record, so a lease closing knows it was answered."""
        with self.engine.begin() as conn:
            conn.execute(
                update(call_records)
                .where(
                    call_records.c.id == record_id,
                    call_records.c.status == RecordStatus.IN_PROGRESS.value,
                )
                .values(answered_at=at, updated_at=at)
            )

    def close(self, record_id: str, end: CallEnd) -> bool:
        """The agent's final write. It replaces a lease or webhook closing (the agent
        knows better), but never a second closing by an agent: False then."""
        transcript = self.retention.transcript(end.transcript)
        values: dict[str, Any] = {
            "status": RecordStatus.ENDED.value,
            "outcome": end.outcome.value,
            "ended_at": end.ended_at,
            "ringing_at": end.ringing_at,
            "answered_at": end.answered_at,
            "hangup_by": end.hangup_by.value,
            "disconnect_reason": (end.disconnect_reason or "")[:200] or None,
            "sip_status_code": end.sip_status_code,
            "sip_status": (end.sip_status or "")[:200] or None,
            "transfer_outcome": end.transfer_outcome,
            "dropped": end.dropped,
            "tools": json.dumps(end.tools),
            "turns": end.latency.turns,
            "response_median_ms": end.latency.response_median_ms,
            "response_p95_ms": end.latency.response_p95_ms,
            "llm_ttft_median_ms": end.latency.llm_ttft_median_ms,
            "llm_ttft_p95_ms": end.latency.llm_ttft_p95_ms,
            "tts_ttfb_median_ms": end.latency.tts_ttfb_median_ms,
            "tts_ttfb_p95_ms": end.latency.tts_ttfb_p95_ms,
            "interruptions": end.interruptions,
            "transcript": None
            if transcript is None
            else json.dumps([line.model_dump() for line in transcript]),
            "lease_until": None,
            "closed_by": "worker",
            "detail": end.detail,
            "answer": end.answer,
            "answer_decided_ms": end.answer_decided_ms,
            "updated_at": end.ended_at,
        }
        if end.sip_call_id is not None:
            values["sip_call_id"] = end.sip_call_id
        with self.engine.begin() as conn:
            result = _tracked(
                conn,
                record_id,
                update(call_records)
                .where(
                    call_records.c.id == record_id,
                    or_(
                        call_records.c.closed_by.is_(None),
                        call_records.c.closed_by != "worker",
                    ),
                )
                .values(**values),
            )
        return result.rowcount == 1

    def insert_closed(self, start: CallStart, end: CallEnd, started_at: datetime) -> str:
        """One finished record in one write (the benchmark, and calls nobody opened)."""
        record_id = uuid.uuid4().hex
        values = self._start_values(start, started_at)
        values.update(id=record_id, status=RecordStatus.IN_PROGRESS.value)
        with self.engine.begin() as conn:
            conn.execute(insert(call_records).values(**values))
            rollup.apply(conn, added=[values])
        self.close(record_id, end)
        return record_id

    # --- closing what an agent could not ----------------------------------------------

    def close_expired(self, now: datetime) -> list[CallRecord]:
        """Close every open record whose lease has run out; returns the records closed."""
        closed: list[CallRecord] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(*call_records.c).where(
                    call_records.c.status == RecordStatus.IN_PROGRESS.value,
                    call_records.c.lease_until < now,
                )
            ).all()
            for row in rows:
                caller_left = row.caller_left_at is not None
                if row.answered_at is None and caller_left and row.direction == "inbound":
                    outcome = CallOutcome.ABANDONED
                else:
                    outcome = CallOutcome.WORKER_LOST
                ended = row.caller_left_at or row.lease_until
                result = _tracked(
                    conn,
                    row.id,
                    update(call_records)
                    .where(
                        call_records.c.id == row.id,
                        call_records.c.status == RecordStatus.IN_PROGRESS.value,
                    )
                    .values(
                        status=RecordStatus.ENDED.value,
                        outcome=outcome.value,
                        ended_at=ended,
                        hangup_by=(HangupBy.CALLER if caller_left else HangupBy.SYSTEM).value,
                        disconnect_reason=row.disconnect_reason
                        or "the agent stopped renewing its record (worker crashed or lost)",
                        dropped=outcome is CallOutcome.WORKER_LOST,
                        closed_by="lease",
                        lease_until=None,
                        updated_at=now,
                    ),
                )
                if result.rowcount == 1:
                    fresh = conn.execute(
                        select(*call_records.c).where(call_records.c.id == row.id)
                    ).one()
                    closed.append(_to_record(fresh, with_transcript=False))
        return closed

    def room_finished(self, room: str, now: datetime, grace: timedelta) -> int:
        """LiveKit closed the room: open records there may live `grace` longer at most
        (the agent may still be writing its final record); returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(call_records)
                .where(
                    call_records.c.room == room,
                    call_records.c.status == RecordStatus.IN_PROGRESS.value,
                    or_(
                        call_records.c.lease_until.is_(None),
                        call_records.c.lease_until > now + grace,
                    ),
                )
                .values(lease_until=now + grace, updated_at=now)
            )
        return result.rowcount

    def caller_left(
        self, start: CallStart, now: datetime, reason: str, *, create_if_missing: bool = True
    ) -> tuple[str, CallRecord | None]:
        """The SIP party left the room (LiveKit webhook).

        An open record of that call notes when (its agent, if alive, still closes it);
        a call with no record at all was abandoned before any agent answered and gets a
        closed `abandoned` record now, returned so that it can be counted.
        """
        match: ColumnElement[bool] = (
            call_records.c.sip_call_id == start.sip_call_id
            if start.sip_call_id
            else and_(call_records.c.room == start.room, call_records.c.sip_call_id.is_(None))
        )
        with self.engine.begin() as conn:
            rows = conn.execute(select(call_records.c.id, call_records.c.status).where(match)).all()
            if rows:
                conn.execute(
                    update(call_records)
                    .where(
                        match,
                        call_records.c.status == RecordStatus.IN_PROGRESS.value,
                        call_records.c.caller_left_at.is_(None),
                    )
                    .values(caller_left_at=now, disconnect_reason=reason[:200], updated_at=now)
                )
                return "noted", None
            if not create_if_missing:
                return "no record", None
            record_id = uuid.uuid4().hex
            values = self._start_values(start, now)
            values.update(
                id=record_id,
                status=RecordStatus.ENDED.value,
                outcome=CallOutcome.ABANDONED.value,
                ended_at=now,
                hangup_by=HangupBy.CALLER.value,
                disconnect_reason=reason[:200],
                caller_left_at=now,
                closed_by="webhook",
                detail="the caller left before an agent answered",
            )
            conn.execute(insert(call_records).values(**values))
            rollup.apply(conn, added=[values])
            row = conn.execute(select(*call_records.c).where(call_records.c.id == record_id)).one()
            return "created", _to_record(row, with_transcript=False)

    # --- reads ------------------------------------------------------------------------

    def get(self, record_id: str) -> CallRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(*call_records.c).where(call_records.c.id == record_id)
            ).one_or_none()
        return None if row is None else _to_record(row, with_transcript=True)

    def list(
        self, filters: CallFilter, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[CallRecord], str | None]:
        """One page, newest first, and the cursor of the next page (None at the end)."""
        c = call_records.c
        conditions: list[ColumnElement[bool]] = []
        if filters.direction is not None:
            conditions.append(c.direction == filters.direction.value)
        if filters.outcome is not None:
            conditions.append(c.outcome == filters.outcome.value)
        if filters.since is not None:
            conditions.append(c.started_at >= filters.since)
        if filters.until is not None:
            conditions.append(c.started_at < filters.until)
        if cursor is not None:
            started, record_id = decode_cursor(cursor)
            # A row-value comparison, so both SQLite and PostgreSQL seek the index to it.
            bound = tuple_(
                literal(started, type_=UTCDateTime()), literal(record_id, type_=String(32))
            )
            conditions.append(tuple_(c.started_at, c.id) < bound)
        query = (
            select(*LIST_COLUMNS)
            .where(*conditions)
            .order_by(c.started_at.desc(), c.id.desc())
            .limit(limit + 1)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        page = [_to_record(r, with_transcript=False) for r in rows[:limit]]
        more = len(rows) > limit
        next_cursor = encode_cursor(page[-1].started_at, page[-1].id) if more and page else None
        return page, next_cursor

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Raw rows in one transaction (the benchmark's bulk load), counted for the
        overview; each number's reversed column is filled in if the row lacks it."""
        full = [
            {
                "caller_number_rev": reversed_number(r.get("caller_number")),
                "called_number_rev": reversed_number(r.get("called_number")),
                **r,
            }
            for r in rows
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(call_records), full)
            rollup.apply(conn, added=full)
