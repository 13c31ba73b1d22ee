"""Messages callers leave with the receptionist: one durable row per message."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, String, Table, Text, insert, select

from ..db.engine import metadata

messages = Table(
    "messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("persona", String(64), nullable=False),
    Column("caller_number", String(32)),
    Column("call_id", String(128), index=True),
    Column("room", String(128)),
    Column("message", Text, nullable=False),
)


@dataclass(frozen=True)
class Message:
    id: str
    created_at: datetime
    persona: str
    caller_number: str | None
    call_id: str | None
    room: str | None
    message: str


class MessageStore:
    """Writes are committed before `add` returns, in a thread so the call's audio keeps flowing."""

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
        with self._engine.begin() as conn:
            conn.execute(insert(messages).values(**record.__dict__))

    def list(self, limit: int = 100) -> list[Message]:
        query = select(messages).order_by(messages.c.created_at.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [Message(**row._mapping) for row in conn.execute(query)]
