"""Messages callers leave with the receptionist: one durable row per message.

They live in the one database every store shares (`DIALTONE_DATABASE_URL`, else the
SQLite file under the data directory): with PostgreSQL, a message taken by any worker
replica is where the API and the operators look, not in that machine's local file.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from ..config import Settings
from ..db.engine import make_engine, read_only
from ..db.tables import messages
from ..db.upgrade import ensure_upgraded


@dataclass(frozen=True)
class Message:
    id: str
    created_at: datetime
    persona: str
    caller_number: str | None
    call_id: str | None
    room: str | None
    message: str


def message_store(settings: Settings) -> MessageStore:
    """The store the worker writes a call's messages to: the settings' database."""
    return MessageStore(make_engine(settings.resolved_database_url))


class MessageStore:
    """Writes are committed before `add` returns, in a thread so the call's audio keeps
    flowing. The schema is brought up to date before the first read or write."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def add(
        self,
        *,
        persona: str,
        message: str,
        caller_number: str | None,
        call_id: str | None,
        room: str | None,
    ) -> Message:
        record = Message(
            id=str(uuid.uuid4()),
            created_at=datetime.now(UTC),
            persona=persona,
            caller_number=caller_number,
            call_id=call_id,
            room=room,
            message=message.strip(),
        )
        await asyncio.to_thread(self._insert, record)
        return record

    def _insert(self, record: Message) -> None:
        ensure_upgraded(self._engine)
        with self._engine.begin() as conn:
            conn.execute(insert(messages).values(**record.__dict__))

    def list(self, limit: int = 100) -> list[Message]:
        ensure_upgraded(self._engine)
        query = select(messages).order_by(messages.c.created_at.desc()).limit(limit)
        with read_only(self._engine) as conn:
            return [Message(**row._mapping) for row in conn.execute(query)]
