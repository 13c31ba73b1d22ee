"""The audit log: every change made in the console or by `dialtone users`, with who
made it and when. Rows are only ever added; the console shows the newest first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select

from ..db.tables import audit_log


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str | None


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    target: str,
    detail: str | None = None,
    at: datetime,
) -> None:
    """Add one entry in the caller's transaction, so the change and its trace land
    together or not at all."""
    conn.execute(
        insert(audit_log).values(
            at=at,
            actor=actor[:80],
            action=action[:64],
            target=target[:200],
            detail=None if detail is None else detail[:2000],
        )
    )


class AuditLog:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self.clock = clock or (lambda: datetime.now(UTC))

    def add(self, *, actor: str, action: str, target: str, detail: str | None = None) -> None:
        with self.engine.begin() as conn:
            record(conn, actor=actor, action=action, target=target, detail=detail, at=self.clock())

    def recent(self, *, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(
                id=r.id, at=r.at, actor=r.actor, action=r.action, target=r.target, detail=r.detail
            )
            for r in rows
        ]
