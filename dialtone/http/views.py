"""Response bodies built from the store's rows, and the one envelope of every list.

Every list route answers `{"items": [...], "next_cursor": ...}` and takes `limit` and
`cursor`: pass `next_cursor` back as `cursor` unchanged until it is null. Call records
and messages page by key; the campaign's calls and the do-not-call list by position
(an opaque cursor here too, so a client pages every list the same way).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ..campaigns.models import CampaignSettings
from ..campaigns.store import Progress


class CampaignView(BaseModel):
    id: str
    kind: str
    name: str
    status: str
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    settings: CampaignSettings
    contacts: dict[str, int] = Field(description="Contacts per state, and `total`")
    attempts: int = Field(description="Calls placed or in progress")
    outcomes: dict[str, int]
    calls_today: int


class CallView(BaseModel):
    """An attempt (`campaigns.store.AttemptRow`) as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    contact_id: int
    phone: str
    number: int
    room: str
    status: str
    outcome: str | None
    detail: str | None
    created_at: datetime
    dispatched_at: datetime | None
    finished_at: datetime | None


T = TypeVar("T")

#: Ids this API hands out (uuid hex and the like): anything else is a 422 before any
#: database sees it (PostgreSQL refuses a NUL in a text parameter with a server error).
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
Id = Annotated[str, Path(pattern=ID_PATTERN, description="An id this API returned")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page, unchanged"),
]
#: How far a positional cursor may point: beyond, no list of this API has rows.
MAX_POSITION = 1_000_000_000
_POSITION = "p"


class Page(BaseModel, Generic[T]):
    """The one list envelope."""

    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page"
    )


class CallList(Page[CallView]):
    """A campaign's calls (attempts), oldest first."""


def position_of(cursor: str | None) -> int:
    """Where a positional cursor points (0 without one), or the 400 naming `cursor`."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        text = ""
    digits = text.removeprefix(_POSITION)
    if not (text.startswith(_POSITION) and digits.isdigit() and len(digits) <= 10):
        raise HTTPException(400, "cursor: not a cursor this API returned; use next_cursor as is")
    position = int(digits)
    if position > MAX_POSITION:
        raise HTTPException(400, "cursor: not a cursor this API returned; use next_cursor as is")
    return position


def page_at(rows: list[T], *, limit: int, position: int) -> tuple[list[T], str | None]:
    """`rows` (read with `limit + 1`) as one page and the cursor of the next, if any."""
    if len(rows) <= limit:
        return rows, None
    token = f"{_POSITION}{position + limit}".encode("ascii")
    return rows[:limit], base64.urlsafe_b64encode(token).decode("ascii").rstrip("=")


def campaign_view(progress: Progress) -> CampaignView:
    c = progress.campaign
    counts = dict(progress.contacts)
    counts["total"] = c.contact_count
    return CampaignView(
        id=c.id,
        kind=c.kind,
        name=c.name,
        status=c.status.value,
        status_reason=c.status_reason,
        created_at=c.created_at,
        updated_at=c.updated_at,
        settings=c.settings,
        contacts=counts,
        attempts=progress.attempts,
        outcomes=progress.outcomes,
        calls_today=progress.calls_today,
    )
