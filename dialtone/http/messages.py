"""Messages callers left with the receptionist: list, read, mark handled.

The receptionist writes them to the `messages` table as the caller speaks (see
`dialtone.messages.store`); here the operator reads them, newest first, a page at a
time, and marks each handled once someone has called back. `next_cursor` is opaque:
pass it back as `cursor` unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from ..messages.inbox import MessageFilter, get_message, mark_handled, page_messages
from ..records.store import BadCursor
from .auth import require_token
from .services import Services
from .views import Cursor, Id, Page

router = APIRouter(dependencies=[Depends(require_token)])


class MessageView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    persona: str = Field(description="The persona that took the message")
    caller_number: str | None
    caller_name: str | None = Field(None, description="The name the caller gave, if any")
    call_id: str | None
    room: str | None
    message: str
    handled_at: datetime | None = Field(description="When marked handled; null: waiting")


class MessagePage(Page[MessageView]):
    """Messages, newest first."""


def aware(value: datetime | None, name: str) -> datetime | None:
    """A query time in UTC; a time without a zone is refused rather than guessed."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise HTTPException(422, f"{name}: give a time zone, e.g. 2026-06-10T15:00:00Z")
    return value.astimezone(UTC)


@router.get("/v1/messages", response_model=MessagePage, summary="Messages, newest first")
def list_messages(
    services: Services,
    handled: Annotated[bool | None, Query(description="true: handled; false: waiting")] = None,
    persona: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[
        datetime | None, Query(alias="from", description="Left at or after (ISO 8601, with zone)")
    ] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="Left before (ISO 8601, with zone)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> MessagePage:
    filters = MessageFilter(handled, persona, aware(since, "from"), aware(until, "to"))
    try:
        page, next_cursor = page_messages(services.engine, filters, limit=limit, cursor=cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    return MessagePage(items=[MessageView.model_validate(m) for m in page], next_cursor=next_cursor)


@router.get("/v1/messages/{message_id}", response_model=MessageView, summary="One message")
def read_message(message_id: Id, services: Services) -> MessageView:
    found = get_message(services.engine, message_id)
    if found is None:
        raise HTTPException(404, f"no message {message_id!r}")
    return MessageView.model_validate(found)


@router.post(
    "/v1/messages/{message_id}/handled",
    response_model=MessageView,
    summary="Mark a message handled (the first time stands)",
)
def handle_message(message_id: Id, services: Services) -> MessageView:
    found = mark_handled(services.engine, message_id, services.clock())
    if found is None:
        raise HTTPException(404, f"no message {message_id!r}")
    return MessageView.model_validate(found)
