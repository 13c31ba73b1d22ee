"""The do-not-call list: numbers no campaign may dial, whatever its contacts say."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..campaigns.models import RowError, Text
from ..campaigns.store import NotFound
from ..wire import normalize_phone
from .auth import require_token
from .errors import problems
from .services import Services, audit_api
from .views import Cursor, Page, number_after, number_cursor, page_by_key

router = APIRouter(dependencies=[Depends(require_token)])


class DncAdd(BaseModel):
    phones: list[str] = Field(min_length=1, max_length=10_000)
    reason: Text = Field("added through the API", max_length=500)


class DncEntry(BaseModel):
    phone: str
    reason: str
    created_at: datetime


def _phone_or_404(phone: str) -> str:
    """A number that is not E.164 cannot be on the list: 404, like any absent number."""
    try:
        return normalize_phone(phone)
    except ValueError:
        raise NotFound(f"{phone!r} is not an E.164 number") from None


class DncPage(Page[DncEntry]):
    """Do-not-call entries in number order."""


@router.get("/v1/dnc", response_model=DncPage, summary="The do-not-call list, by number")
def list_dnc(
    services: Services,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    cursor: Cursor = None,
) -> DncPage:
    after = number_after(cursor)
    rows = services.campaigns.list_dnc(limit=limit + 1, after=after)
    page, next_cursor = page_by_key(rows, limit=limit, key=lambda row: number_cursor(row[0]))
    return DncPage(
        items=[DncEntry(phone=p, reason=r, created_at=t) for p, r, t in page],
        next_cursor=next_cursor,
    )


@router.post("/v1/dnc", response_model=dict[str, int])
def add_dnc(body: DncAdd, services: Services) -> Response | dict[str, int]:
    phones: list[str] = []
    errors: list[RowError] = []
    for i, raw_phone in enumerate(body.phones):
        try:
            phones.append(normalize_phone(raw_phone))
        except ValueError as exc:
            errors.append(RowError(i + 1, "phone", str(exc)))
    if errors:
        return problems(errors, "the do-not-call list was not changed")
    added = services.campaigns.add_dnc(phones, body.reason, services.clock())
    if added:
        audit_api(services, "dnc.add", ", ".join(phones)[:200], body.reason)
    return {"added": added, "already_listed": len(set(phones)) - added}


@router.get("/v1/dnc/{phone}", response_model=DncEntry)
def get_dnc(phone: Annotated[str, Path(description="E.164")], services: Services) -> DncEntry:
    found = services.campaigns.get_dnc(_phone_or_404(phone))
    if found is None:
        raise NotFound(f"{phone} is not on the do-not-call list")
    return DncEntry(phone=found[0], reason=found[1], created_at=found[2])


@router.delete("/v1/dnc/{phone}", status_code=204)
def remove_dnc(phone: str, services: Services) -> Response:
    number = _phone_or_404(phone)
    if not services.campaigns.remove_dnc(number):
        raise NotFound(f"{phone} is not on the do-not-call list")
    audit_api(services, "dnc.remove", number)
    return Response(status_code=204)
