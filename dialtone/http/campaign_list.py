"""`GET /v1/campaigns`: every campaign, newest first, a page at a time.

Its own router so the campaign routes (`campaigns.py`) stay as they are. The body is
the list envelope every list shares: `{"items": [...], "next_cursor": ...}`; pass
`next_cursor` back as `cursor`, unchanged, for the next page.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from ..campaigns.listing import CampaignFilter, list_campaign_ids
from ..campaigns.models import CampaignStatus
from ..records.store import BadCursor
from .auth import require_token
from .policy_view import full_campaign_view
from .services import AppServices, Services
from .views import CampaignView

router = APIRouter(dependencies=[Depends(require_token)])


class CampaignPage(BaseModel):
    items: list[CampaignView] = Field(description="Newest first, each with its progress")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page"
    )


def campaign_page(
    services: AppServices,
    filters: CampaignFilter,
    *,
    limit: int,
    cursor: str | None = None,
) -> CampaignPage:
    """A page of campaigns with their progress (the console shows the same)."""
    try:
        ids, next_cursor = list_campaign_ids(services.engine, filters, limit=limit, cursor=cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    now = services.clock()
    items = [full_campaign_view(services, i, now) for i in ids]
    return CampaignPage(items=items, next_cursor=next_cursor)


@router.get("/v1/campaigns", response_model=CampaignPage, summary="Campaigns, newest first")
def list_campaigns(
    services: Services,
    state: Annotated[CampaignStatus | None, Query(description="Only campaigns in it")] = None,
    kind: Annotated[Literal["campaign", "adhoc"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CampaignPage:
    return campaign_page(services, CampaignFilter(state, kind), limit=limit, cursor=cursor)
