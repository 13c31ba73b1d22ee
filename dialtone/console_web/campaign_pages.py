"""Campaigns: the list with progress, create from a CSV upload, control, results.

Creation goes through the API's own path (`http.creation.create`): the same validation,
do-not-call and destination checks, and the same all-or-nothing rule. A refused upload
comes back as the form again, with each problem beside its row.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from ..campaigns.csvio import read_contacts_csv
from ..campaigns.listing import CampaignFilter
from ..campaigns.models import CampaignStatus, RowErrors
from ..http.campaign_list import campaign_page
from ..http.campaigns import results_csv
from ..http.creation import create
from ..http.policy_view import full_campaign_view
from ..http.services import Services
from .rendering import render
from .session import Checked, Session

router = APIRouter(include_in_schema=False)

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
FIELDS = ("name", "persona", "outbound_trunk", "caller_id", "timezone", "start", "end")
DEFAULTS = {"persona": "reminder", "timezone": "America/New_York", "start": "09:00", "end": "20:00"}


def _new_form(values: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"values": {**DEFAULTS, **values}, "errors": errors, "days": DAYS}


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(
    request: Request,
    services: Services,
    session: Session,
    state: Annotated[CampaignStatus | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = campaign_page(services, CampaignFilter(state), limit=20, cursor=cursor)
    return render(
        request,
        "campaigns.html",
        session,
        page=page,
        state=state.value if state else "",
        states=[s.value for s in CampaignStatus],
        form=_new_form({"days": DAYS[:5]}, []),
    )


@router.post("/campaigns", response_class=HTMLResponse)
async def create_campaign(request: Request, services: Services, session: Checked) -> Response:
    form = await request.form()
    values: dict[str, Any] = {f: str(form.get(f) or "").strip() for f in FIELDS}
    values["days"] = [d for d in form.getlist("days") if d in DAYS]
    values["max_concurrent"] = str(form.get("max_concurrent") or "5")
    raw: dict[str, Any] = {
        "name": values["name"],
        "persona": values["persona"],
        "outbound_trunk": values["outbound_trunk"],
        "caller_id": values["caller_id"],
        "timezone": values["timezone"],
        "window": {"start": values["start"], "end": values["end"], "days": values["days"]},
        "max_concurrent": values["max_concurrent"],
    }
    upload = form.get("contacts")
    file_errors = RowErrors()
    if not isinstance(upload, UploadFile) or not upload.filename:
        response = _refused([{"row": None, "field": "contacts", "reason": "choose a CSV file"}])
    else:
        rows = read_contacts_csv(upload.file, file_errors)
        response = await create(
            services,
            scope="console",
            key=None,
            raw=raw,
            rows=rows,
            kind="campaign",
            errors=file_errors,
        )
    body = json.loads(bytes(response.body))
    if response.status_code == 201:
        return RedirectResponse(f"/campaigns/{body['id']}", status_code=303)
    errors = body.get("errors") or [{"row": None, "field": "", "reason": body.get("detail", "")}]
    page = campaign_page(services, CampaignFilter(), limit=20)
    return render(
        request,
        "campaigns.html",
        session,
        status_code=422,
        page=page,
        state="",
        states=[s.value for s in CampaignStatus],
        form=_new_form(values, errors),
    )


def _refused(errors: list[dict[str, Any]]) -> Response:
    return Response(json.dumps({"errors": errors}), status_code=422)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_detail(
    campaign_id: str, request: Request, services: Services, session: Session
) -> Response:
    view = full_campaign_view(services, campaign_id)
    return render(
        request,
        "campaign.html",
        session,
        c=view,
        chart={"outcomes": view.outcomes, "contacts": view.contacts},
    )


@router.post("/campaigns/{campaign_id}/{action}")
def control(campaign_id: str, action: str, services: Services, _session: Checked) -> Response:
    if action not in ("pause", "resume", "cancel"):
        raise HTTPException(404, f"no action {action!r}")
    services.campaigns.set_status(campaign_id, action, services.clock())
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.get("/campaigns/{campaign_id}/results.csv")
def results(campaign_id: str, services: Services, _session: Session) -> StreamingResponse:
    services.campaigns.get_campaign(campaign_id)  # 404 for an unknown id
    return results_csv(campaign_id, services)
