"""A campaign as the API and the console show it, with what the calling policy did."""

from __future__ import annotations

from datetime import datetime

from ..campaigns.policy.ledger import refusal_counts, region_keys
from ..campaigns.policy.rules import window_notices
from ..db.engine import read_only
from .services import AppServices
from .views import CampaignView, PolicyView, campaign_view


def policy_view(services: AppServices, campaign_id: str, view: CampaignView) -> PolicyView:
    with read_only(services.engine) as conn:
        refusals = refusal_counts(conn, campaign_id)
        places = region_keys(conn, campaign_id)
    notices = window_notices(view.settings.window, places, services.campaigns.rules)
    return PolicyView(refusals=refusals, calling_hours=notices)


def full_campaign_view(
    services: AppServices, campaign_id: str, now: datetime | None = None
) -> CampaignView:
    """The campaign's progress and its policy block (one read each)."""
    view = campaign_view(services.campaigns.progress(campaign_id, now or services.clock()))
    view.policy = policy_view(services, campaign_id, view)
    return view
