"""The console's call list: the API's filters plus persona, campaign and number.

A keyset page over (started_at, id), newest first, like `GET /v1/calls`; the extra
filters are the ones an office manager asks by ("calls to the dental line", "every call
from this number", "this campaign's calls"), each served by an index.

The number filter matches either party. Numbers are stored in E.164 (`wire`), and each
also reversed (`caller_number_rev`, `called_number_rev`, indexed with started_at), so:
a whole number, typed any way `wire.normalize_phone` accepts ("+1 (555) 010-0142"),
matches exactly; anything else is read as the number's last digits ("0142", "555
0100142": separators ignored, at least `MIN_DIGITS`), a range on the reversed column.
The end of a number is what people remember. Each party is one index range, newest
first and limited to the page, then the two are merged. A few last digits can match
most calls (the business line's own "0100"): sorting them all would take seconds, so a
party whose range holds `DENSE` entries or more is read newest first instead, testing
each row, which finds a page of such common matches within a few thousand rows.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    func,
    literal,
    select,
    tuple_,
    union,
)

from ..db.engine import read_only
from ..db.tables import call_records
from ..db.types import UTCDateTime
from ..records.store import decode_cursor, encode_cursor
from ..telephony.sip_status import TransferOutcome
from ..wire import normalize_phone

MIN_DIGITS = 3
#: Transfer outcomes where the caller did not reach a person.
FAILED_TRANSFERS = sorted(t.value for t in TransferOutcome if t is not TransferOutcome.COMPLETED)
DENSE = 5000


class BadNumber(ValueError):
    """A number filter that is neither a whole number nor enough of its last digits."""


@dataclass(frozen=True)
class NumberMatch:
    """The reversed number, or its reversed last digits, to look up."""

    reversed: str
    exact: bool

    def on(self, column: ColumnElement[str | None]) -> ColumnElement[bool]:
        if self.exact:
            return column == self.reversed
        upper = self.reversed[:-1] + chr(ord(self.reversed[-1]) + 1)
        # The range lets the index serve; the prefix test keeps it exact under a
        # collation that ignores "+" or "*" (PostgreSQL's en_US, for one).
        return (column >= self.reversed) & (column < upper) & self.scanned(column)

    def scanned(self, column: ColumnElement[str | None]) -> ColumnElement[bool]:
        """The same test, written so no index serves it: rows come newest first."""
        return func.substr(column, 1, len(self.reversed)) == self.reversed

    def is_dense(self, conn: Connection, column: ColumnElement[str | None]) -> bool:
        if self.exact:
            return False
        some = select(literal(1)).where(self.on(column)).limit(DENSE).subquery()
        return int(conn.scalar(select(func.count()).select_from(some)) or 0) >= DENSE


def number_match(typed: str) -> NumberMatch:
    """What the operator typed as a lookup; `BadNumber` says what to type instead."""
    try:
        return NumberMatch(normalize_phone(typed)[::-1], exact=True)
    except ValueError:
        pass
    folded = unicodedata.normalize("NFKC", typed)
    digits = "".join(str(unicodedata.decimal(ch)) for ch in folded if ch.isdecimal())
    if len(digits) < MIN_DIGITS or any(ch.isalpha() for ch in folded):
        raise BadNumber(
            f"number: type the whole number (+15550100142) or at least its last {MIN_DIGITS} digits"
        )
    return NumberMatch(digits[::-1], exact=False)


@dataclass(frozen=True)
class CallQuery:
    direction: str | None = None
    outcome: str | None = None
    persona: str | None = None
    campaign_id: str | None = None
    number: str | None = None  # either party's: a whole number or its last digits
    since: datetime | None = None
    until: datetime | None = None
    #: "failed": calls whose transfer did not reach a person (any other value: exactly it)
    transfer: str | None = None


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
    """One page and the next page's cursor; `records.store.BadCursor` for a bad cursor,
    `BadNumber` for a number filter that cannot be looked up."""
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
    match = number_match(query.number) if query.number else None
    if query.transfer == "failed":
        where.append(c.transfer_outcome.in_(FAILED_TRANSFERS))
    elif query.transfer:
        where.append(c.transfer_outcome == query.transfer)
    if query.since is not None:
        where.append(c.started_at >= query.since)
    if query.until is not None:
        where.append(c.started_at < query.until)
    if cursor is not None:
        started, record_id = decode_cursor(cursor)
        bound = tuple_(literal(started, type_=UTCDateTime()), literal(record_id, type_=String(32)))
        where.append(tuple_(c.started_at, c.id) < bound)
    columns = [getattr(c, name) for name in CallRow.__dataclass_fields__]

    def newest(*extra: ColumnElement[bool]) -> Select[Any]:
        return (
            select(*columns)
            .where(*where, *extra)
            .order_by(c.started_at.desc(), c.id.desc())
            .limit(limit + 1)
        )

    with read_only(engine) as conn:
        if match is None:
            statement = newest()
        else:  # one index range per party, merged (a row matching both comes once)
            sides = [
                newest(match.scanned(side) if match.is_dense(conn, side) else match.on(side))
                for side in (c.caller_number_rev, c.called_number_rev)
            ]
            either = union(*(select(side.subquery()) for side in sides)).subquery()
            statement = (
                select(either)
                .order_by(either.c.started_at.desc(), either.c.id.desc())
                .limit(limit + 1)
            )
        rows = [CallRow(**r._mapping) for r in conn.execute(statement)]
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(page[-1].started_at, page[-1].id) if more and page else None


def record_id_for_sip_call(engine: Engine, sip_call_id: str) -> str | None:
    """The call record of a message's call (messages keep the SIP call id)."""
    c = call_records.c
    with read_only(engine) as conn:
        return conn.scalar(select(c.id).where(c.sip_call_id == sip_call_id).limit(1))


def record_ids_for_sip_calls(engine: Engine, sip_call_ids: set[str]) -> dict[str, str | None]:
    """The call record of each message's call, in one query (an inbox shows 250)."""
    c = call_records.c
    found: dict[str, str | None] = dict.fromkeys(sip_call_ids)
    if sip_call_ids:
        with read_only(engine) as conn:
            for sip_call_id, record_id in conn.execute(
                select(c.sip_call_id, c.id).where(c.sip_call_id.in_(sorted(sip_call_ids)))
            ):
                found[sip_call_id] = found[sip_call_id] or record_id
    return found
