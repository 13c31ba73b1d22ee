"""The reminder agent's callbacks: a dial permit right before dialling, an opt-out the
moment it is heard, then the outcome.

All take the attempt's own callback token (see `auth`), never the operator's.
"""

from __future__ import annotations

from datetime import datetime
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


class PermitRequest(BaseModel):
    job_id: Text | None = Field(
        None,
        max_length=128,
        description="The LiveKit job asking. The permit is bound to it: the same job asking "
        "again (its first answer was lost) is allowed again, any other job is refused.",
    )


class DialPermit(BaseModel):
    allowed: bool
    reason: str | None = None
    report_by: datetime | None = Field(
        None,
        description="The attempt's outcome deadline: keep retrying the report until then; "
        "after it the server settles the attempt from what it knows.",
    )
    report_within: float | None = Field(
        None,
        description="Seconds from this answer to `report_by`: what an agent should count "
        "on its own clock (immune to clock skew between the agent and the server).",
    )


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
def dial_permit(
    attempt_id: Id,
    callback: CallbackToken,
    services: Services,
    body: PermitRequest | None = None,
) -> DialPermit:
    """Ask right before dialling; allowed to one job per attempt (window, DNC, pause
    re-checked). The same job asking again gets the same answer."""
    try:
        answer = services.campaigns.acquire_dial_permit(
            attempt_id,
            callback,
            services.clock(),
            job_id=None if body is None else body.job_id,
        )
    except BadToken as exc:
        raise HTTPException(401, str(exc)) from None
    within = None
    if answer.report_by is not None:
        within = max(0.0, (answer.report_by - services.clock()).total_seconds())
    return DialPermit(
        allowed=answer.allowed,
        reason=answer.reason,
        report_by=answer.report_by,
        report_within=within,
    )


@router.post("/v1/attempts/{attempt_id}/opt-out", response_model=dict[str, bool])
def opt_out(attempt_id: Id, callback: CallbackToken, services: Services) -> dict[str, bool]:
    """The callee asked not to be called again: their number joins the do-not-call list
    now, whatever happens to the rest of the call. `listed`: newly added."""
    try:
        listed = services.campaigns.record_opt_out(attempt_id, callback, services.clock())
    except BadToken as exc:
        raise HTTPException(401, str(exc)) from None
    return {"listed": listed}


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
