"""The do-not-call list: a number on it is never dialled, whatever campaign holds it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ...db.tables import contacts, dnc
from ..models import WAITING_STATES, ContactState
from .base import StoreBase, dnc_among


class DncMixin(StoreBase):
    def add_dnc(self, phones: Sequence[str], reason: str, now: datetime) -> int:
        """Add numbers; waiting contacts with them become `dnc` in the same transaction."""
        with self.engine.begin() as conn:
            return add_dnc(conn, phones, reason, now)

    def remove_dnc(self, phone: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(dnc.delete().where(dnc.c.phone == phone)).rowcount == 1

    def list_dnc(
        self, *, limit: int, offset: int = 0, after: str | None = None
    ) -> list[tuple[str, str, datetime]]:
        """Entries in number order: from `after` (exclusive) when paging by key, which a
        removal between two pages cannot shift, or from `offset` (the console's pages)."""
        query = select(dnc).order_by(dnc.c.phone).limit(limit).offset(offset)
        if after is not None:
            query = query.where(dnc.c.phone > after)
        with self._read() as conn:
            return [(r.phone, r.reason, r.created_at) for r in conn.execute(query)]

    def get_dnc(self, phone: str) -> tuple[str, str, datetime] | None:
        with self._read() as conn:
            r = conn.execute(select(dnc).where(dnc.c.phone == phone)).first()
        return None if r is None else (r.phone, r.reason, r.created_at)


def add_dnc(conn: Connection, phones: Sequence[str], reason: str, now: datetime) -> int:
    """In the caller's transaction, so an opt-out and its listing commit together."""
    existing = dnc_among(conn, phones)
    new = sorted(set(phones) - existing)
    if new:
        # Two writers may both find a number unlisted (the agent's immediate opt-out and
        # its final report, on PostgreSQL's read committed): the second insert of a number
        # is a no-op, not an error, so neither call fails.
        rows = [{"phone": p, "reason": reason, "created_at": now} for p in new]
        added = conn.execute(_insert_new(conn), rows).rowcount
        if added >= 0:
            new = new[:added]
    for start in range(0, len(phones), 500):
        conn.execute(
            update(contacts)
            .where(
                contacts.c.phone.in_(phones[start : start + 500]),
                contacts.c.state.in_(WAITING_STATES),
            )
            .values(state=ContactState.DNC, last_detail="on the do-not-call list", updated_at=now)
        )
    return len(new)


def _insert_new(conn: Connection) -> Insert:
    """An insert into the list that skips numbers already on it (both dialects we run)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(dnc).on_conflict_do_nothing(index_elements=["phone"])
    return sqlite.insert(dnc).on_conflict_do_nothing(index_elements=["phone"])
