"""Messages callers leave with the receptionist: one durable row per message.

They live in the one database every store shares (`DIALTONE_DATABASE_URL`, else the
SQLite file under the data directory): with PostgreSQL, a message taken by any worker
replica is where the API and the operators look, not in that machine's local file.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, Row, String, insert, inspect, literal, select, tuple_

from ..campaigns.outbox import EventType, enqueue, iso_z
from ..config import Settings
from ..db.engine import make_engine, read_only
from ..db.tables import messages
from ..db.upgrade import ensure_upgraded
from ..records.store import decode_cursor, encode_cursor


@dataclass(frozen=True)
class Message:
    id: str
    created_at: datetime
    persona: str
    caller_number: str | None
    call_id: str | None
    room: str | None
    message: str
    handled_at: datetime | None = None  # when an operator marked it dealt with
    caller_name: str | None = None  # as the caller gave it, when they did


def message_store(settings: Settings) -> MessageStore:
    """The store the worker writes a call's messages to: the settings' database."""
    return MessageStore(
        make_engine(settings.resolved_database_url),
        webhook_url=settings.message_webhook_url or None,
    )


class MessageStore:
    """Writes are committed before `add` returns, in a thread so the call's audio keeps
    flowing. The schema is brought up to date before the first read or write.

    With `webhook_url`, each message's signed `message.created` event is written to the
    webhook outbox in the message's own transaction: a message is never stored without
    its event, nor announced without being stored.
    """

    def __init__(self, engine: Engine, *, webhook_url: str | None = None) -> None:
        self._engine = engine
        self._webhook_url = webhook_url

    async def add(
        self,
        *,
        persona: str,
        message: str,
        caller_number: str | None,
        call_id: str | None,
        room: str | None,
        caller_name: str | None = None,
    ) -> Message:
        record = Message(
            id=str(uuid.uuid4()),
            created_at=datetime.now(UTC),
            persona=persona,
            caller_number=caller_number,
            call_id=call_id,
            room=room,
            message=message.strip(),
            caller_name=(caller_name or "").strip()[:200] or None,
        )
        await asyncio.to_thread(self._insert, record)
        return record

    def _insert(self, record: Message) -> None:
        ensure_upgraded(self._engine)
        with self._engine.begin() as conn:
            conn.execute(insert(messages).values(**record.__dict__))
            data = {**record.__dict__, "created_at": iso_z(record.created_at)}
            del data["handled_at"]
            enqueue(
                conn, self._webhook_url, None, EventType.MESSAGE_CREATED, data, record.created_at
            )

    def list(self, limit: int = 100) -> list[Message]:
        ensure_upgraded(self._engine)
        query = select(messages).order_by(messages.c.created_at.desc()).limit(limit)
        with read_only(self._engine) as conn:
            return [Message(**row._mapping) for row in conn.execute(query)]

    def get(self, message_id: str) -> Message | None:
        """One message, or None; `created_at` is UTC-aware on every backend."""
        query = select(messages).where(messages.c.id == message_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _aware(row)

    def page(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[Sequence[Message], str | None]:
        """One page, newest first, and the cursor of the next page (None on the last).

        Keyset-paged on (created_at, id): a message left while an operator pages
        through the list is neither skipped nor shown twice, as offsets would be.
        Raises `records.store.BadCursor` for a cursor this store did not hand out.
        """
        query = select(messages).order_by(messages.c.created_at.desc(), messages.c.id.desc())
        if cursor is not None:
            created, message_id = decode_cursor(cursor)
            # SQLite keeps the UTC wall time the worker wrote; PostgreSQL compares instants.
            bound = tuple_(
                literal(created.astimezone(UTC), type_=DateTime(timezone=True)),
                literal(message_id, type_=String(36)),
            )
            query = query.where(tuple_(messages.c.created_at, messages.c.id) < bound)
        with self._engine.connect() as conn:
            rows = conn.execute(query.limit(limit + 1)).all()
        page = [_aware(r) for r in rows[:limit]]
        more = len(rows) > limit
        return page, encode_cursor(page[-1].created_at, page[-1].id) if more and page else None


def _aware(row: Row[Any]) -> Message:
    """SQLite hands back naive datetimes; every message was written in UTC."""
    message = Message(**row._mapping)
    if message.created_at.tzinfo is None:
        message = replace(message, created_at=message.created_at.replace(tzinfo=UTC))
    return message


def copy_messages(source: Engine, target: Engine) -> tuple[int, int]:
    """Copy every message in `source` into `target`, keeping ids; (copied, already there).

    Before the one shared database, each worker wrote its messages to a SQLite file in
    its own data directory, even when the API used PostgreSQL. This brings those rows to
    the database everything reads now. A message whose id is already there is skipped,
    so running it twice (or on two workers' files) copies each message once.
    """
    ensure_upgraded(target)
    with read_only(source) as conn:
        # An old file lacks the columns later revisions added (handled_at): read what it has.
        present = {c["name"] for c in inspect(conn).get_columns("messages")}
        columns = [c for c in messages.c if c.name in present]
        rows = [dict(row._mapping) for row in conn.execute(select(*columns))]
    copied = 0
    with target.begin() as conn:
        present = set(conn.scalars(select(messages.c.id)))
        fresh = [row for row in rows if row["id"] not in present]
        if fresh:
            conn.execute(insert(messages), fresh)
            copied = len(fresh)
    return copied, len(rows) - copied
