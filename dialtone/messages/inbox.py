"""The operator's view of messages: filtered pages, and marking one handled.

A message is waiting until someone marks it handled; the first mark stands (a second
click, or two operators at once, never moves `handled_at`), so "who called back when"
stays true. Pages are keyset-paged on (created_at, id), newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Engine,
    Row,
    String,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)

from ..db.engine import read_only
from ..db.tables import messages
from ..records.store import decode_cursor, encode_cursor
from .store import Message


@dataclass(frozen=True)
class MessageFilter:
    handled: bool | None = None  # None: both
    persona: str | None = None
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None  # created_at < until
    call_id: str | None = None
    #: Words in the message, the caller's name or number (case-insensitive), looked for
    #: among the newest `SEARCH_WINDOW` messages: a substring test cannot use an index,
    #: so the scan is bounded and a search answers in the same time at any inbox size.
    text: str | None = None


def _utc(value: datetime) -> Any:
    # SQLite keeps the UTC wall time the worker wrote; PostgreSQL compares instants.
    return literal(value.astimezone(UTC), type_=DateTime(timezone=True))


def _aware(row: Row[Any]) -> Message:
    """SQLite hands back naive datetimes; every message time was written in UTC."""
    message = Message(**row._mapping)
    fixed: dict[str, datetime] = {}
    for name in ("created_at", "handled_at"):
        value = getattr(message, name)
        if value is not None and value.tzinfo is None:
            fixed[name] = value.replace(tzinfo=UTC)
    return replace(message, **fixed) if fixed else message  # type: ignore[arg-type]


#: How many of the newest messages a text search looks through.
SEARCH_WINDOW = 10_000


def _conditions(filters: MessageFilter) -> list[ColumnElement[bool]]:
    c = messages.c
    out: list[ColumnElement[bool]] = []
    if filters.handled is not None:
        out.append(c.handled_at.is_not(None) if filters.handled else c.handled_at.is_(None))
    if filters.persona is not None:
        out.append(c.persona == filters.persona)
    if filters.since is not None:
        out.append(c.created_at >= _utc(filters.since))
    if filters.until is not None:
        out.append(c.created_at < _utc(filters.until))
    if filters.call_id is not None:
        out.append(c.call_id == filters.call_id)
    if filters.text:
        needle = filters.text.strip().lower()
        oldest = (
            select(c.created_at)
            .order_by(c.created_at.desc())
            .limit(1)
            .offset(SEARCH_WINDOW - 1)
            .scalar_subquery()
        )
        out.append(c.created_at >= func.coalesce(oldest, _utc(datetime(1970, 1, 1, tzinfo=UTC))))
        out.append(
            or_(
                func.lower(c.message).contains(needle, autoescape=True),
                func.lower(func.coalesce(c.caller_name, "")).contains(needle, autoescape=True),
                func.coalesce(c.caller_number, "").contains(needle, autoescape=True),
            )
        )
    return out


def page_messages(
    engine: Engine, filters: MessageFilter, *, limit: int = 50, cursor: str | None = None
) -> tuple[Sequence[Message], str | None]:
    """One page, newest first, and the next page's cursor (None on the last).

    Raises `records.store.BadCursor` for a cursor this did not hand out.
    """
    c = messages.c
    conditions = _conditions(filters)
    if cursor is not None:
        created, message_id = decode_cursor(cursor)
        bound = tuple_(_utc(created), literal(message_id, type_=String(36)))
        conditions.append(tuple_(c.created_at, c.id) < bound)
    query = (
        select(messages)
        .where(*conditions)
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(limit + 1)
    )
    with read_only(engine) as conn:
        rows = conn.execute(query).all()
    page = [_aware(r) for r in rows[:limit]]
    more = len(rows) > limit
    return page, encode_cursor(page[-1].created_at, page[-1].id) if more and page else None


def get_message(engine: Engine, message_id: str) -> Message | None:
    with read_only(engine) as conn:
        row = conn.execute(select(messages).where(messages.c.id == message_id)).one_or_none()
    return None if row is None else _aware(row)


def mark_handled(engine: Engine, message_id: str, now: datetime) -> Message | None:
    """Mark it handled (only the first time counts); the message, or None if unknown."""
    with engine.begin() as conn:
        conn.execute(
            update(messages)
            .where(messages.c.id == message_id, messages.c.handled_at.is_(None))
            .values(handled_at=now.astimezone(UTC))
        )
    return get_message(engine, message_id)


def count_waiting(engine: Engine) -> int:
    """Messages nobody has marked handled yet."""
    query = select(func.count()).select_from(messages).where(messages.c.handled_at.is_(None))
    with read_only(engine) as conn:
        return int(conn.scalar(query) or 0)
