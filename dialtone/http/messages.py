"""Messages callers left with the receptionist: `GET /v1/messages`, `GET /v1/messages/{id}`.

The receptionist writes them to the `messages` table as the caller speaks (see
`dialtone.messages.store`); here the operator reads them, newest first, a page at a
time. `next_cursor` is opaque: pass it back as `cursor` unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

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
    call_id: str | None
    room: str | None
    message: str


class MessagePage(Page[MessageView]):
    """Messages, newest first."""


@router.get("/v1/messages", response_model=MessagePage, summary="Messages, newest first")
def list_messages(
    services: Services,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> MessagePage:
    try:
        page, next_cursor = services.messages.page(limit=limit, cursor=cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    return MessagePage(items=[MessageView.model_validate(m) for m in page], next_cursor=next_cursor)


@router.get("/v1/messages/{message_id}", response_model=MessageView, summary="One message")
def get_message(message_id: Id, services: Services) -> MessageView:
    found = services.messages.get(message_id)
    if found is None:
        raise HTTPException(404, f"no message {message_id!r}")
    return MessageView.model_validate(found)
