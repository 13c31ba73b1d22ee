"""A campaign's console page shows what the calling policy did."""

from __future__ import annotations

from datetime import UTC, datetime

from dialtone.campaigns.policy.ledger import count_refusal
from dialtone.campaigns.store import CampaignStore
from tests.campaigns.conftest import people, settings

from .conftest import Console
from .test_session import _signed_in


def test_the_campaign_page_shows_refusals_by_reason_and_abandoned_calls(
    console: Console,
) -> None:
    store = CampaignStore(console.engine)
    campaign_id, _ = store.create_campaign(settings(), people(1), datetime.now(UTC))
    with console.engine.begin() as conn:
        count_refusal(conn, campaign_id, "legal_hours", 4)
        count_refusal(conn, campaign_id, "holiday")
    client, _ = _signed_in(console)
    page = client.get(f"/campaigns/{campaign_id}").text
    client.close()
    assert "Held back by the calling policy, by reason" in page
    assert '<th scope="row">legal_hours</th><td>4</td>' in page
    assert '<th scope="row">holiday</th><td>1</td>' in page
    assert "Abandoned calls in the last 24 hours: 0 of 0 answered" in page
