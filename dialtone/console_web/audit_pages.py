"""The audit log: who changed what, and when (managers only), newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from .rendering import render
from .session import AccountsDep, Manager

router = APIRouter(include_in_schema=False)
PAGE = 100

#: The log's action codes in words (the code stays in a tooltip).
ACTIONS = {
    "sign-in": "Signed in",
    "sign-in.failed": "Sign-in refused",
    "sign-out": "Signed out",
    "user.add": "Added a user",
    "user.remove": "Removed a user",
    "user.reset": "Reset a password",
    "dnc.add": "Added to do-not-call",
    "dnc.remove": "Removed from do-not-call",
    "dnc.undo-remove": "Undid a do-not-call removal",
    "campaign.create": "Created a campaign",
    "adhoc.create": "Placed a one-off call",
    "campaign.pause": "Paused a campaign",
    "campaign.resume": "Resumed a campaign",
    "campaign.cancel": "Cancelled a campaign",
    "message.handled": "Marked a message handled",
}


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: Manager,
    accounts: AccountsDep,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    entries = accounts.audit.recent(limit=PAGE + 1, before=before)
    return render(
        request,
        "audit.html",
        session,
        entries=entries[:PAGE],
        older=entries[PAGE - 1].id if len(entries) > PAGE else None,
        actions=ACTIONS,
        title="Audit log",
    )
