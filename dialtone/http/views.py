"""Response bodies built from the store's rows, and the one envelope of every list.

Every list route answers `{"items": [...], "next_cursor": ...}` and takes `limit` and
`cursor`: pass `next_cursor` back as `cursor` unchanged until it is null. Call records
, messages and a campaign's calls page by (time, id); the do-not-call list by number.
Keys, not positions: a row added or removed between two requests skips nothing.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ..campaigns.models import CampaignSettings
from ..campaigns.store import Progress
from ..records.store import BadCursor, decode_cursor


class PolicyView(BaseModel):
    """What the calling policy did to a campaign (docs/compliance.md)."""

    refusals: dict[str, int] = Field(
        default_factory=dict,
        description="Times the policy held a contact back, by reason (legal_hours, "
        "holiday, closure, daily_cap, weekly_cap, calls_24h, min_gap, campaign_window)",
    )
    calling_hours: list[str] = Field(
        default_factory=list,
        description="Where the window is wider than the legal hours at the callees' "
        "locations: calls there start only within both",
    )
    answered_24h: int = Field(0, description="Calls a person answered in the last 24 hours")
    abandoned_24h: int = Field(
        0, description="Of those, abandoned: no agent speech within 2 s of the answer"
    )
    abandoned_rate_24h: float = Field(
        0.0, description="abandoned_24h / answered_24h; above the limit the campaign pauses"
    )


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
    policy: PolicyView = Field(default_factory=PolicyView)


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
_BAD_CURSOR = "cursor: not a cursor this API returned; use next_cursor as is"
_NUMBER = "n"


class Page(BaseModel, Generic[T]):
    """The one list envelope."""

    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page"
    )


class CallList(Page[CallView]):
    """A campaign's calls (attempts), oldest first."""


def number_after(cursor: str | None) -> str | None:
    """The number a do-not-call page's cursor points after, or the 400 naming `cursor`."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        text = ""
    number = text.removeprefix(_NUMBER)
    if not (text.startswith(_NUMBER) and number.startswith("+") and number[1:].isdigit()):
        raise HTTPException(400, _BAD_CURSOR)
    return number


def attempt_after(cursor: str | None) -> tuple[datetime, str] | None:
    """The (created_at, id) key a campaign's calls page points after, or the 400."""
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from None


def page_by_key(
    rows: list[T], *, limit: int, key: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """`rows` (read with `limit + 1`) as one page, and the cursor after its last row.

    Pages are cut by key, not position, so a row added or removed between two requests
    shifts nothing: a client mirroring the do-not-call list sees every number.
    """
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], key(rows[limit - 1])


def number_cursor(phone: str) -> str:
    return base64.urlsafe_b64encode(f"{_NUMBER}{phone}".encode("ascii")).decode("ascii").rstrip("=")


def campaign_view(progress: Progress, policy: PolicyView | None = None) -> CampaignView:
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
        policy=policy or PolicyView(),
    )
