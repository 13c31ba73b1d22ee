"""A campaign's contacts for its page: who, state in words, last outcome, next try.

Paged by contact id (the `campaign_id, id` index), filtered by state and by words in
the name or digits of the number. The number search is a substring test on one
campaign's rows, which the campaign's size bounds (at most the upload limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, or_, select

from ..db.engine import read_only
from ..db.tables import contacts

PAGE = 50


@dataclass(frozen=True)
class ContactRow:
    id: int
    row: int
    phone: str
    name: str
    state: str
    attempts: int
    last_outcome: str | None
    next_at: datetime | None  # only while a try is still to come


def find_contacts(
    engine: Engine,
    campaign_id: str,
    *,
    text: str = "",
    state: str = "",
    after: int = 0,
    limit: int = PAGE,
) -> tuple[list[ContactRow], int | None]:
    c = contacts.c
    query = (
        select(c.id, c.row, c.phone, c.name, c.state, c.attempts, c.last_outcome, c.next_at)
        .where(c.campaign_id == campaign_id, c.id > after)
        .order_by(c.id)
        .limit(limit + 1)
    )
    if state:
        query = query.where(c.state == state)
    needle = text.strip().lower()
    if needle:
        digits = "".join(ch for ch in needle if ch.isdigit())
        tests = [func.lower(c.name).contains(needle, autoescape=True)]
        if digits:
            tests.append(c.phone.contains(digits, autoescape=True))
        query = query.where(or_(*tests))
    with read_only(engine) as conn:
        rows = conn.execute(query).all()
    waiting = {"pending", "retry_wait"}
    found = [
        ContactRow(
            id=r.id,
            row=r.row,
            phone=r.phone,
            name=r.name,
            state=r.state,
            attempts=r.attempts,
            last_outcome=r.last_outcome,
            next_at=r.next_at if r.state in waiting else None,
        )
        for r in rows[:limit]
    ]
    return found, (found[-1].id if len(rows) > limit and found else None)
