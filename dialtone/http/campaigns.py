"""Campaign routes: create (JSON or CSV upload), read, calls, pause/resume/cancel, results.

`POST /v1/calls` lives here too: an ad-hoc call is a one-contact campaign, created
through the same validation, idempotency and storage as any other.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..campaigns.csvio import render_results
from ..campaigns.models import RowErrors
from ..records.store import encode_cursor
from .auth import require_token
from .bodies import NOT_CREATED, campaign_upload, idempotency_key, json_object
from .creation import CREATE_BODY, create
from .errors import problem
from .policy_view import full_campaign_view
from .services import Services, audit_api
from .views import (
    CallList,
    CallView,
    CampaignView,
    Cursor,
    Id,
    attempt_after,
    page_by_key,
)

router = APIRouter(dependencies=[Depends(require_token)])

IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


@router.post(
    "/v1/campaigns",
    status_code=201,
    response_model=CampaignView,
    openapi_extra=CREATE_BODY,
    summary="Create a campaign with its contacts (JSON, or multipart with a CSV file)",
)
async def create_campaign(request: Request, services: Services, key: IdempotencyKey) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        body = await json_object(request)
        if isinstance(body, JSONResponse):
            return body
        contacts = body.pop("contacts", None)
        if not isinstance(contacts, list):
            return problem(None, "contacts", "a list of contacts is required", NOT_CREATED)
        rows = [(i + 1, c) for i, c in enumerate(contacts)]
        return await create(
            services,
            scope="campaigns",
            key=key,
            raw=body,
            rows=rows,
            kind="campaign",
            errors=RowErrors(),
        )
    if ctype == "multipart/form-data":
        async with campaign_upload(request) as upload:
            if isinstance(upload, JSONResponse):
                return upload
            raw, streamed, file_errors = upload
            return await create(
                services,
                scope="campaigns",
                key=key,
                raw=raw,
                rows=streamed,
                kind="campaign",
                errors=file_errors,
            )
    raise HTTPException(415, "send application/json or multipart/form-data")


@router.get("/v1/campaigns/{campaign_id}", response_model=CampaignView)
def get_campaign(campaign_id: Id, services: Services) -> CampaignView:
    return full_campaign_view(services, campaign_id)


@router.get("/v1/campaigns/{campaign_id}/calls", response_model=CallList)
def list_calls(
    campaign_id: Id,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor = None,
) -> CallList:
    """The campaign's calls (attempts), oldest first."""
    after = attempt_after(cursor)
    rows = services.campaigns.list_attempts(campaign_id, limit=limit + 1, after=after)
    page, next_cursor = page_by_key(
        rows, limit=limit, key=lambda row: encode_cursor(row.created_at, row.id)
    )
    return CallList(items=[CallView.model_validate(a) for a in page], next_cursor=next_cursor)


def _action(name: str) -> None:
    def act(campaign_id: Id, services: Services) -> CampaignView:
        services.campaigns.set_status(campaign_id, name, services.clock())
        audit_api(services, f"campaign.{name}", campaign_id)
        return full_campaign_view(services, campaign_id)

    act.__name__ = f"{name}_campaign"
    router.post(
        f"/v1/campaigns/{{campaign_id}}/{name}",
        response_model=CampaignView,
        summary=f"{name.capitalize()} the campaign",
    )(act)


for _name in ("pause", "resume", "cancel"):
    _action(_name)


@router.get(
    "/v1/campaigns/{campaign_id}/results.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def results_csv(campaign_id: Id, services: Services) -> StreamingResponse:
    store = services.campaigns
    variable_names = sorted({k for r in store.results(campaign_id) for k in r.variables})
    return StreamingResponse(
        render_results(store.results(campaign_id), variable_names),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}.csv"'},
    )


@router.post(
    "/v1/calls",
    status_code=201,
    response_model=CampaignView,
    summary="Place one ad-hoc call (a one-contact campaign)",
)
async def adhoc_call(request: Request, services: Services, key: IdempotencyKey) -> Response:
    body = await json_object(request)
    if isinstance(body, JSONResponse):
        return body
    contact = {k: body.pop(k) for k in ("phone", "name", "timezone", "variables") if k in body}
    zone = contact.get("timezone")
    if not isinstance(zone, str) or not zone:
        return problem(
            1, "timezone", "an ad-hoc call needs the callee's time zone", "the call was not placed"
        )
    raw: dict[str, Any] = {
        "name": f"ad-hoc call {contact.get('phone', '')}"[:200],
        "timezone": zone,
        "window": {
            "start": "08:00",
            "end": "21:00",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        },
        "max_concurrent": 1,
        "retry": {"max_attempts": body.pop("max_attempts", 1)},
    }
    raw.update(body)
    return await create(
        services,
        scope="calls",
        key=key,
        raw=raw,
        rows=[(1, contact)],
        kind="adhoc",
        errors=RowErrors(),
    )
