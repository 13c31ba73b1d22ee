"""The reminder agent's routes: the dial permit bound to a job, the opt-out, the outcome."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from google.protobuf.json_format import MessageToJson
from livekit.protocol.models import Room
from livekit.protocol.webhook import WebhookEvent
from sqlalchemy import Engine

from dialtone.campaigns.store import CampaignStore, ClaimLimits
from tests.campaigns.conftest import FakeClock
from tests.campaigns.helpers import attempt_row, contact_states, on_dnc

from .conftest import create
from .test_calls import post, signed


def test_dial_permit_route(client: TestClient, engine: Engine, clock: FakeClock) -> None:
    create(client)
    (claim, _) = CampaignStore(engine).claim_due(clock.now, ClaimLimits(calls_per_second=100))
    auth = {"Authorization": f"Bearer {claim.callback_token}"}
    url = f"/v1/attempts/{claim.attempt_id}/dial"
    first = client.post(url, headers=auth, json={"job_id": "AJ_first"}).json()
    assert first["allowed"] is True and first["reason"] is None
    assert first["report_within"] == 30 + 300 + 120  # the persona defaults' call budget
    # the same job again (its answer was lost): allowed again
    assert client.post(url, headers=auth, json={"job_id": "AJ_first"}).json() == first
    # a second agent in the room, or an old agent naming no job: refused
    for body in ({"job_id": "AJ_second"}, None):
        other = client.post(url, headers=auth, json=body).json()
        assert other["allowed"] is False and other["reason"] == "this attempt was already dialled"


def test_opt_out_route_lists_the_number_at_once(
    client: TestClient, engine: Engine, clock: FakeClock
) -> None:
    campaign_id = create(client)["id"]
    store = CampaignStore(engine)
    (claim, _) = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    auth = {"Authorization": f"Bearer {claim.callback_token}"}
    url = f"/v1/attempts/{claim.attempt_id}/opt-out"
    assert (
        client.post(url, headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code
        == 401
    )
    assert not on_dnc(store, claim.phone)
    assert client.post(url, headers=auth).json() == {"listed": True}
    assert on_dnc(store, claim.phone)  # before any outcome report
    assert contact_states(store, campaign_id)[claim.phone] == "in_flight"
    assert client.post(url, headers=auth).json() == {"listed": False}  # a retry is harmless


def test_opt_out_route_lists_the_number_with_its_evidence(
    client: TestClient, engine: Engine, clock: FakeClock
) -> None:
    create(client)
    store = CampaignStore(engine)
    (claim, _) = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    auth = {"Authorization": f"Bearer {claim.callback_token}"}
    url = f"/v1/attempts/{claim.attempt_id}/opt-out"
    evidence = {"evidence": "opted out by key 9"}
    assert client.post(url, headers=auth, json=evidence).json() == {"listed": True}
    listed = store.get_dnc(claim.phone)
    assert listed is not None
    assert listed[1] == f"opted out during attempt {claim.attempt_id}: opted out by key 9"
    assert listed[2] == clock.now


def test_livekit_closing_an_attempts_room_brings_its_deadline_forward(
    client: TestClient, engine: Engine, clock: FakeClock
) -> None:
    """The signed `room_finished` of a campaign attempt's room: the attempt whose agent
    died mid-call is settled a minute later by the next expiry, not after its budget."""
    create(client)
    store = CampaignStore(engine)
    (claim, _) = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    store.mark_dispatched(claim.attempt_id, "AD_x", clock.now)
    auth = {"Authorization": f"Bearer {claim.callback_token}"}
    dial = client.post(f"/v1/attempts/{claim.attempt_id}/dial", headers=auth, json={"job_id": "AJ"})
    assert dial.json()["allowed"] is True
    body = MessageToJson(WebhookEvent(event="room_finished", room=Room(name=claim.room)))
    answer = post(client, body, signed(body))
    assert answer.status_code == 200, answer.text
    assert "the attempt settles after its grace" in answer.json()["result"]
    assert store.expire_unreported(clock.now + timedelta(seconds=59)) == 0
    assert store.expire_unreported(clock.now + timedelta(seconds=61)) == 1
    assert attempt_row(store, claim.attempt_id).outcome == "unknown"
