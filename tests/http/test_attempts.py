"""The reminder agent's routes: the dial permit, with the attempt's callback token."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dialtone.campaigns.store import CampaignStore, ClaimLimits
from tests.campaigns.conftest import FakeClock

from .conftest import create


def test_dial_permit_route(client: TestClient, engine: Engine, clock: FakeClock) -> None:
    create(client)
    (claim, _) = CampaignStore(engine).claim_due(clock.now, ClaimLimits(calls_per_second=100))
    auth = {"Authorization": f"Bearer {claim.callback_token}"}
    assert client.post(f"/v1/attempts/{claim.attempt_id}/dial", headers=auth).json() == {
        "allowed": True,
        "reason": None,
    }
    second = client.post(f"/v1/attempts/{claim.attempt_id}/dial", headers=auth).json()
    assert second["allowed"] is False
