"""Campaign response bodies, built from the store's rows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ..campaigns.models import CampaignSettings
from ..campaigns.store import Progress


class CampaignView(BaseModel):
    id: str
    kind: str
    name: str
    status: str
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    settings: CampaignSettings
    contacts: dict[str, int] = Field(description="Contacts per state, and `total`")
    attempts: int = Field(description="Calls placed or in progress")
    outcomes: dict[str, int]
    calls_today: int


class CallView(BaseModel):
    """An attempt (`campaigns.store.AttemptRow`) as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    contact_id: int
    phone: str
    number: int
    room: str
    status: str
    outcome: str | None
    detail: str | None
    created_at: datetime
    dispatched_at: datetime | None
    finished_at: datetime | None


class CallList(BaseModel):
    calls: list[CallView]
    limit: int
    offset: int


def campaign_view(progress: Progress) -> CampaignView:
    c = progress.campaign
    counts = dict(progress.contacts)
    counts["total"] = c.contact_count
    return CampaignView(
        id=c.id,
        kind=c.kind,
        name=c.name,
        status=c.status.value,
        status_reason=c.status_reason,
        created_at=c.created_at,
        updated_at=c.updated_at,
        settings=c.settings,
        contacts=counts,
        attempts=progress.attempts,
        outcomes=progress.outcomes,
        calls_today=progress.calls_today,
    )
