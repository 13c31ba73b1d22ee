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
from ..config import Settings
from ..http.campaign_list import campaign_page
from ..http.campaigns import results_csv
from ..http.creation import create
from ..http.policy_view import full_campaign_view
from ..http.services import Services
from .choices import outbound_trunks, persona_names
from .contacts import find_contacts
from .rendering import render
from .session import AccountsDep, CheckedManager, Manager
from .words import CONTACT_STATES

router = APIRouter(include_in_schema=False)

#: What the page says after each control, so a click is confirmed in words.
DONE = {
    "pause": "Paused. No new calls start; calls already ringing finish.",
    "resume": "Resumed. Calls start again inside the calling window.",
    "cancel": "Cancelled. No contact will be called again by this campaign.",
}
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
FIELDS = ("name", "persona", "outbound_trunk", "caller_id", "timezone", "start", "end")
DEFAULTS = {"persona": "reminder", "timezone": "America/New_York", "start": "09:00", "end": "20:00"}


def _new_form(
    settings: Settings, values: dict[str, Any], errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """The new-campaign form. Row numbers in errors are spreadsheet rows: the API counts
    contacts from 1, a spreadsheet counts the header as row 1, so contact N is row N+1."""
    shown = [{**e, "row": e["row"] + 1 if isinstance(e.get("row"), int) else None} for e in errors]
    trunks = outbound_trunks(settings.trunks_dir)
    return {
        "values": {**DEFAULTS, **values},
        "errors": shown,
        "days": DAYS,
        "trunks": trunks,
        "caller_ids": sorted({n for t in trunks for n in t.numbers}),
        "personas": persona_names(settings),
    }


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(
    request: Request,
    services: Services,
    session: Manager,
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
        form=_new_form(services.settings, {"days": DAYS[:5]}, []),
    )


@router.post("/campaigns", response_class=HTMLResponse)
async def create_campaign(
    request: Request, services: Services, session: CheckedManager, accounts: AccountsDep
) -> Response:
    form = await request.form()
    values: dict[str, Any] = {f: str(form.get(f) or "").strip() for f in FIELDS}
    # A LiveKit trunk id typed in the advanced field wins over the configured list.
    values["outbound_trunk_id"] = str(form.get("outbound_trunk_id") or "").strip()
    if values["outbound_trunk_id"]:
        values["outbound_trunk"] = values["outbound_trunk_id"]
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
        accounts.audit.add(
            actor=session.actor, action="campaign.create", target=body["id"], detail=values["name"]
        )
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
        form=_new_form(services.settings, values, errors),
    )


def _refused(errors: list[dict[str, Any]]) -> Response:
    return Response(json.dumps({"errors": errors}), status_code=422)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_detail(
    campaign_id: str,
    request: Request,
    services: Services,
    session: Manager,
    done: Annotated[str, Query(max_length=10)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    state: Annotated[str, Query(max_length=20)] = "",
    after: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    view = full_campaign_view(services, campaign_id)
    rows, next_after = find_contacts(
        services.engine,
        campaign_id,
        text=q,
        state=state if state in CONTACT_STATES else "",
        after=after,
    )
    return render(
        request,
        "campaign.html",
        session,
        c=view,
        chart={"outcomes": view.outcomes, "contacts": view.contacts},
        notice=DONE.get(done),
        people=rows,
        next_after=next_after,
        search={"q": q, "state": state},
        contact_states=CONTACT_STATES,
    )


@router.post("/campaigns/{campaign_id}/{action}")
def control(
    campaign_id: str,
    action: str,
    services: Services,
    session: CheckedManager,
    accounts: AccountsDep,
) -> Response:
    if action not in DONE:
        raise HTTPException(404, f"no action {action!r}")
    services.campaigns.set_status(campaign_id, action, services.clock())
    accounts.audit.add(actor=session.actor, action=f"campaign.{action}", target=campaign_id)
    return RedirectResponse(f"/campaigns/{campaign_id}?done={action}", status_code=303)


@router.get("/campaigns/{campaign_id}/results.csv")
def results(campaign_id: str, services: Services, _session: Manager) -> StreamingResponse:
    services.campaigns.get_campaign(campaign_id)  # 404 for an unknown id
    return results_csv(campaign_id, services)
