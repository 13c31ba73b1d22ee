"""What every part of the store shares: the engine, read-only blocks, common queries.

Each concern (creation, claims, outcomes, status, reads, DNC) is a mixin over
`StoreBase`; the queries more than one of them runs inside its own transaction live
here as functions of a connection, so a caller's transaction stays one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select

from ...db.engine import read_only
from ...db.tables import attempts, contacts, dnc
from ..models import AttemptStatus
from ..policy import CallingRules, load_rules


class StoreBase:
    """The engine every mixin writes through (`BEGIN IMMEDIATE` on SQLite, see `db.engine`),
    and the calling rules every claim and dial permit is checked against (`policy`)."""

    def __init__(self, engine: Engine, *, rules: CallingRules | None = None) -> None:
        self.engine = engine
        self.rules = rules if rules is not None else load_rules()

    def _read(self) -> AbstractContextManager[Connection]:
        return read_only(self.engine)


def dnc_among(conn: Connection, phones: Sequence[str]) -> set[str]:
    """Which of `phones` are on the do-not-call list (asked 500 at a time)."""
    found: set[str] = set()
    for start in range(0, len(phones), 500):
        chunk = phones[start : start + 500]
        found.update(conn.scalars(select(dnc.c.phone).where(dnc.c.phone.in_(chunk))))
    return found


def on_dnc(conn: Connection, phone: str) -> bool:
    return conn.scalar(select(dnc.c.phone).where(dnc.c.phone == phone)) is not None


def calls_since(conn: Connection, campaign_id: str, since: datetime) -> int:
    """Attempts that may have placed a call since `since` (what the daily cap counts)."""
    n = conn.scalar(
        select(func.count()).where(
            attempts.c.campaign_id == campaign_id,
            attempts.c.created_at >= since,
            attempts.c.status != AttemptStatus.NOT_DISPATCHED,
        )
    )
    return int(n or 0)


def state_counts(conn: Connection, campaign_id: str) -> dict[str, int]:
    """How many of a campaign's contacts are in each state (states with none are absent)."""
    return {
        str(state): int(n)
        for state, n in conn.execute(
            select(contacts.c.state, func.count())
            .where(contacts.c.campaign_id == campaign_id)
            .group_by(contacts.c.state)
        )
    }
