"""The console's call list: the API's filters plus persona, campaign and number.

A keyset page over (started_at, id), newest first, like `GET /v1/calls`; the extra
filters are the ones an office manager asks by ("calls to the dental line", "every call
from this number", "this campaign's calls").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, String, literal, or_, select, tuple_

from ..db.engine import read_only
from ..db.tables import call_records
from ..db.types import UTCDateTime
from ..records.store import decode_cursor, encode_cursor


@dataclass(frozen=True)
class CallQuery:
    direction: str | None = None
    outcome: str | None = None
    persona: str | None = None
    campaign_id: str | None = None
    number: str | None = None  # either party's number, exactly as stored
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class CallRow:
    id: str
    started_at: datetime
    direction: str
    status: str
    outcome: str | None
    persona: str | None
    caller_number: str | None
    called_number: str | None
    campaign_id: str | None
    transfer_outcome: str | None


def find_calls(
    engine: Engine, query: CallQuery, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[CallRow], str | None]:
    """One page and the next page's cursor; `records.store.BadCursor` for a bad one."""
    c = call_records.c
    where: list[ColumnElement[bool]] = []
    for column, value in (
        (c.direction, query.direction),
        (c.outcome, query.outcome),
        (c.persona, query.persona),
        (c.campaign_id, query.campaign_id),
    ):
        if value:
            where.append(column == value)
    if query.number:
        where.append(or_(c.caller_number == query.number, c.called_number == query.number))
    if query.since is not None:
        where.append(c.started_at >= query.since)
    if query.until is not None:
        where.append(c.started_at < query.until)
    if cursor is not None:
        started, record_id = decode_cursor(cursor)
        bound = tuple_(literal(started, type_=UTCDateTime()), literal(record_id, type_=String(32)))
        where.append(tuple_(c.started_at, c.id) < bound)
    columns = [getattr(c, name) for name in CallRow.__dataclass_fields__]
    statement = (
        select(*columns).where(*where).order_by(c.started_at.desc(), c.id.desc()).limit(limit + 1)
    )
    with read_only(engine) as conn:
        rows = [CallRow(**r._mapping) for r in conn.execute(statement)]
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(page[-1].started_at, page[-1].id) if more and page else None


def record_id_for_sip_call(engine: Engine, sip_call_id: str) -> str | None:
    """The call record of a message's call (messages keep the SIP call id)."""
    c = call_records.c
    with read_only(engine) as conn:
        return conn.scalar(select(c.id).where(c.sip_call_id == sip_call_id).limit(1))
