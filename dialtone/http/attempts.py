"""The reminder agent's callbacks: a dial permit right before dialling, then the outcome.

Both take the attempt's own callback token (see `auth`), never the operator's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from ..campaigns.models import Outcome, Text
from ..campaigns.store import BadToken
from .auth import attempt_token
from .services import Services
from .views import Id

router = APIRouter()

CallbackToken = Annotated[str, Depends(attempt_token)]


class DialPermit(BaseModel):
    allowed: bool
    reason: str | None = None


class OutcomeReport(BaseModel):
    outcome: Outcome
    detail: Text = Field("", max_length=2000)
    pause_reason: Text | None = Field(
        None,
        max_length=2000,
        description="Set by the reminder agent for a trunk, auth or codec failure that every "
        "call would hit: the campaign pauses with this reason and the attempt does not count.",
    )


@router.post("/v1/attempts/{attempt_id}/dial", response_model=DialPermit)
def dial_permit(attempt_id: Id, callback: CallbackToken, services: Services) -> DialPermit:
    """Ask right before dialling; allowed once per attempt (window, DNC, pause re-checked)."""
    try:
        reason = services.campaigns.acquire_dial_permit(attempt_id, callback, services.clock())
    except BadToken as exc:
        raise HTTPException(401, str(exc)) from None
    return DialPermit(allowed=reason is None, reason=reason)


@router.post("/v1/attempts/{attempt_id}/outcome", response_model=dict[str, bool])
def report_outcome(
    attempt_id: Id, body: OutcomeReport, callback: CallbackToken, services: Services
) -> dict[str, bool]:
    try:
        recorded = services.campaigns.report_outcome(
            attempt_id,
            callback,
            body.outcome,
            body.detail,
            services.clock(),
            pause_reason=body.pause_reason,
        )
    except BadToken as exc:
        raise HTTPException(401, str(exc)) from None
    return {"recorded": recorded}
