"""The reminder's dial and report against the LiveKit double, one SIP code family at a time.

Each test claims a real attempt from the store, builds the job from the dialer's own
metadata, scripts the callee's SIP answer on the double, and runs the real
`run_attempt` through the real livekit-api client and the campaign API over HTTP.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from livekit.api import LiveKitAPI

from dialtone.campaigns.dialer import dispatch_metadata
from dialtone.campaigns.models import CampaignStatus, Outcome
from dialtone.campaigns.store import CampaignStore, Claim, ClaimLimits
from dialtone.wire import ReminderJob
from tests.campaigns.conftest import FakeClock, people, settings
from tests.livekit_double import LiveKitDouble

from .harness import Callee, make_trunk, play_job

PHONE = "+15550200000"  # people(1)'s number


async def claimed(store: CampaignStore, clock: FakeClock, trunk: str, **spec: Any) -> Claim:
    store.create_campaign(settings(outbound_trunk=trunk, **spec), people(1), clock.now)
    (claim,) = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    assert store.mark_dispatched(claim.attempt_id, "AD_test", clock.now)
    return claim


async def attempt(
    store: CampaignStore,
    clock: FakeClock,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    callee: Callee | None = None,
    **spec: Any,
) -> tuple[Claim, Any]:
    trunk = await make_trunk(lk)
    claim = await claimed(store, clock, trunk, **spec)
    job = ReminderJob.from_metadata(dispatch_metadata(claim))
    played = await play_job(job, lk, api, callee or Callee())
    return claim, played


def contact_row(store: CampaignStore, campaign_id: str) -> Any:
    (row,) = list(store.results(campaign_id))
    return row


@pytest.mark.parametrize(
    ("code", "outcome", "state"),
    [
        (486, Outcome.BUSY, "retry_wait"),
        (600, Outcome.BUSY, "retry_wait"),
        (480, Outcome.NO_ANSWER, "retry_wait"),
        (408, Outcome.NO_ANSWER, "retry_wait"),
        (487, Outcome.NO_ANSWER, "retry_wait"),
        (404, Outcome.INVALID_NUMBER, "failed"),
        (484, Outcome.INVALID_NUMBER, "failed"),
        (410, Outcome.INVALID_NUMBER, "failed"),
        (604, Outcome.INVALID_NUMBER, "failed"),
        (603, Outcome.DECLINED, "retry_wait"),
    ],
)
async def test_callee_failures_map_to_outcomes(
    code: int,
    outcome: Outcome,
    state: str,
    store: CampaignStore,
    clock: FakeClock,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    livekit_double: LiveKitDouble,
) -> None:
    livekit_double.sip.script_call(PHONE, sip_status_code=code, sip_status="scripted")
    claim, played = await attempt(store, clock, lk, api)
    assert played.result.outcome is outcome
    assert f"SIP {code}" in played.result.detail
    assert played.result.pause_reason is None
    (dial,) = livekit_double.sip.dials
    assert dial.request.sip_call_to == PHONE
    assert dial.request.wait_until_answered
    assert dial.request.sip_number == "+15550100100"
    assert dial.request.ringing_timeout.seconds == 30
    assert dial.request.max_call_duration.seconds == 300
    row = contact_row(store, claim.campaign_id)
    assert (row.last_outcome, row.state) == (outcome.value, state)
    assert store.get_campaign(claim.campaign_id).status is CampaignStatus.ACTIVE


async def test_ringing_timeout_is_no_answer(
    store: CampaignStore,
    clock: FakeClock,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    livekit_double: LiveKitDouble,
) -> None:
    livekit_double.sip.script_call(PHONE, ringing_timeout=True)
    claim, played = await attempt(store, clock, lk, api)
    assert played.result.outcome is Outcome.NO_ANSWER
    assert "no SIP status" in played.result.detail
    assert contact_row(store, claim.campaign_id).state == "retry_wait"


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (401, "credentials"),
        (403, "credentials"),
        (407, "credentials"),
        (488, "codec"),
        (500, "carrier"),
        (503, "carrier"),
    ],
)
async def test_trunk_failures_pause_the_campaign_and_do_not_burn_the_contact(
    code: int,
    hint: str,
    store: CampaignStore,
    clock: FakeClock,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    livekit_double: LiveKitDouble,
) -> None:
    livekit_double.sip.script_call(PHONE, sip_status_code=code, sip_status="scripted")
    claim, played = await attempt(store, clock, lk, api, retry={"max_attempts": 1})
    assert played.result.outcome is Outcome.FAILED
    campaign = store.get_campaign(claim.campaign_id)
    assert campaign.status is CampaignStatus.PAUSED
    assert campaign.status_reason is not None
    assert f"SIP {code}" in campaign.status_reason and hint in campaign.status_reason
    row = contact_row(store, claim.campaign_id)
    # max_attempts is 1, yet the contact still waits: our failure did not use it up.
    assert (row.state, row.attempts, row.last_outcome) == ("pending", 0, "failed")
    store.set_status(claim.campaign_id, "resume", clock.now)
    (again,) = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    assert again.contact_id == claim.contact_id


async def test_unknown_trunk_is_a_livekit_config_failure_and_pauses(
    store: CampaignStore,
    clock: FakeClock,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    livekit_double: LiveKitDouble,
) -> None:
    claim = await claimed(store, clock, "ST_doesnotexist")
    job = ReminderJob.from_metadata(dispatch_metadata(claim))
    played = await play_job(job, lk, api, Callee())
    assert played.result.outcome is Outcome.FAILED
    assert played.result.pause_reason is not None and "trunk id" in played.result.pause_reason
    assert store.get_campaign(claim.campaign_id).status is CampaignStatus.PAUSED
    assert livekit_double.sip.dials == []


async def test_answered_and_confirmed(
    store: CampaignStore,
    clock: FakeClock,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    livekit_double: LiveKitDouble,
) -> None:
    claim, played = await attempt(
        store, clock, lk, api, Callee(greeting="hello?", lines=["yes i will be there"])
    )
    assert played.result.outcome is Outcome.COMPLETED
    assert played.result.detail == "confirmed"
    assert any("slot 0" in line for line in played.spoken)  # the contact's variable
    row = contact_row(store, claim.campaign_id)
    assert (row.state, row.last_detail) == ("completed", "confirmed")
    # the attempt is over: the room (and with it the SIP leg) is gone
    assert claim.room not in livekit_double.state.rooms


async def test_no_permit_no_call(
    store: CampaignStore,
    clock: FakeClock,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    livekit_double: LiveKitDouble,
) -> None:
    trunk = await make_trunk(lk)
    claim = await claimed(store, clock, trunk)
    store.add_dnc([claim.phone], "asked by letter", clock.now)
    job = ReminderJob.from_metadata(dispatch_metadata(claim))
    played = await play_job(job, lk, api, Callee(lines=["yes"]))
    assert played.result is None
    assert livekit_double.sip.dials == []
    assert contact_row(store, claim.campaign_id).state == "dnc"


async def test_a_second_agent_for_the_same_attempt_does_not_dial(
    store: CampaignStore,
    clock: FakeClock,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    livekit_double: LiveKitDouble,
) -> None:
    trunk = await make_trunk(lk)
    claim = await claimed(store, clock, trunk)
    job = ReminderJob.from_metadata(dispatch_metadata(claim))
    first = await play_job(job, lk, api, Callee(lines=["yes i will be there"]))
    second = await play_job(job, lk, api, Callee(lines=["yes i will be there"]))
    assert first.result is not None and second.result is None
    assert len(livekit_double.sip.dials) == 1


async def test_missing_template_variable_is_not_called(
    store: CampaignStore,
    clock: FakeClock,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    livekit_double: LiveKitDouble,
) -> None:
    trunk = await make_trunk(lk)
    claim = await claimed(store, clock, trunk)
    job = ReminderJob.from_metadata(dispatch_metadata(claim)).model_copy(update={"variables": {}})
    played = await play_job(job, lk, api, Callee(lines=["yes"]))
    assert played.result is not None and played.result.outcome is Outcome.FAILED
    assert "appointment" in played.result.detail
    assert livekit_double.sip.dials == []
