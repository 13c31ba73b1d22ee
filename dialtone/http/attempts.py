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
from ..campaigns.pace import LATE_TOLERANCE
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
    dial_in: float = Field(
        0.0,
        description="Seconds to wait before dialling: the trunk's calls per second, shared "
        "by every replica, paces the dials themselves (0: dial now).",
    )
    report_within: float | None = Field(
        None,
        description="Seconds from this answer to `report_by`: what an agent should count "
        "on its own clock (immune to clock skew between the agent and the server).",
    )
    dial_at: datetime | None = Field(
        None,
        description="The dial slot on the server's clock (UTC), beside `dial_in`: an agent "
        "whose clock keeps NTP time waits for the later of the two and counts its "
        "lateness from the earlier, so a slow answer cannot make it dial late unnoticed.",
    )
    dial_late_max: float | None = Field(
        None,
        description="With a dial slot: the most seconds after it the agent may still dial. "
        "An agent that would dial later (it heard this answer late, or woke late) asks "
        "again for a fresh slot, so late dials never bunch over the trunk's calls per "
        "second.",
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
    abandoned: bool | None = Field(
        None,
        description="Set when a person answered: true if they heard no agent speech within "
        "2 s (an abandoned call, counted per campaign over 24 h)",
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
            clock=services.clock,
        )
    except BadToken as exc:
        raise HTTPException(401, str(exc)) from None
    now = services.clock()
    within = None
    if answer.report_by is not None:
        within = max(0.0, (answer.report_by - now).total_seconds())
    dial_in = 0.0 if answer.dial_at is None else max(0.0, (answer.dial_at - now).total_seconds())
    return DialPermit(
        allowed=answer.allowed,
        reason=answer.reason,
        dial_in=dial_in,
        dial_at=answer.dial_at,
        report_by=answer.report_by,
        report_within=within,
        dial_late_max=None if answer.dial_at is None else LATE_TOLERANCE,
    )


class OptOutEvidence(BaseModel):
    evidence: Text = Field(
        "", max_length=500, description="What opted out: the words heard, or the key pressed"
    )


@router.post("/v1/attempts/{attempt_id}/opt-out", response_model=dict[str, bool])
def opt_out(
    attempt_id: Id,
    callback: CallbackToken,
    services: Services,
    body: OptOutEvidence | None = None,
) -> dict[str, bool]:
    """The callee asked not to be called again: their number joins the do-not-call list
    now, whatever happens to the rest of the call, with the evidence (the listing's
    reason). `listed`: newly added."""
    evidence = body.evidence if body is not None else ""
    try:
        listed = services.campaigns.record_opt_out(
            attempt_id, callback, services.clock(), evidence=evidence
        )
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
            abandoned=body.abandoned,
        )
    except BadToken as exc:
        raise HTTPException(401, str(exc)) from None
    return {"recorded": recorded}
