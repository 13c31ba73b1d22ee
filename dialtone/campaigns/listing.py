"""Which campaigns exist, newest first: the read behind `GET /v1/campaigns`.

A campaign id that an operator lost used to be lost for good; this lists them. It is a
keyset page over (created_at, id), so a campaign created while someone pages through
the list is neither skipped nor shown twice. Only ids come back: the caller reads each
campaign's progress through the store, as `GET /v1/campaigns/{id}` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, String, literal, select, tuple_

from ..db.engine import read_only
from ..db.tables import campaigns
from ..db.types import UTCDateTime
from ..records.store import decode_cursor, encode_cursor
from .models import CampaignStatus


@dataclass(frozen=True)
class CampaignFilter:
    status: CampaignStatus | None = None
    kind: str | None = None  # "campaign" or "adhoc"


def list_campaign_ids(
    engine: Engine, filters: CampaignFilter, *, limit: int, cursor: str | None = None
) -> tuple[Sequence[str], str | None]:
    """One page of ids, newest first, and the next page's cursor (None on the last).

    Raises `records.store.BadCursor` for a cursor this did not hand out.
    """
    c = campaigns.c
    conditions: list[ColumnElement[bool]] = []
    if filters.status is not None:
        conditions.append(c.status == filters.status.value)
    if filters.kind is not None:
        conditions.append(c.kind == filters.kind)
    if cursor is not None:
        created, campaign_id = decode_cursor(cursor)
        bound = tuple_(
            literal(created, type_=UTCDateTime()), literal(campaign_id, type_=String(32))
        )
        conditions.append(tuple_(c.created_at, c.id) < bound)
    query = (
        select(c.id, c.created_at)
        .where(*conditions)
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(limit + 1)
    )
    with read_only(engine) as conn:
        rows = conn.execute(query).all()
    page = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    return [r.id for r in page], next_cursor
