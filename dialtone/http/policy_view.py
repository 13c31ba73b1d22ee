"""A campaign as the API and the console show it, with what the calling policy did."""

from __future__ import annotations

from datetime import datetime

from ..campaigns.policy.ledger import abandonment, refusal_counts, region_keys
from ..campaigns.policy.rules import window_notices
from ..db.engine import read_only
from .services import AppServices
from .views import CampaignView, PolicyView, campaign_view


def policy_view(
    services: AppServices, campaign_id: str, view: CampaignView, now: datetime
) -> PolicyView:
    with read_only(services.engine) as conn:
        refusals = refusal_counts(conn, campaign_id)
        places = region_keys(conn, campaign_id)
        seen = abandonment(conn, campaign_id, now)
    notices = window_notices(view.settings.window, places, services.campaigns.rules)
    return PolicyView(
        refusals=refusals,
        calling_hours=notices,
        answered_24h=seen.answered,
        abandoned_24h=seen.abandoned,
        abandoned_rate_24h=round(seen.rate, 4),
    )


def full_campaign_view(
    services: AppServices, campaign_id: str, now: datetime | None = None
) -> CampaignView:
    """The campaign's progress and its policy block (one read each)."""
    now = now or services.clock()
    view = campaign_view(services.campaigns.progress(campaign_id, now))
    view.policy = policy_view(services, campaign_id, view, now)
    return view
