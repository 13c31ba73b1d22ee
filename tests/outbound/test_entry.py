"""The reminder job's first steps on the worker, before any room or call."""

from __future__ import annotations

from pathlib import Path

import httpx

from dialtone.campaigns.dialer import dispatch_metadata
from dialtone.campaigns.models import CampaignStatus
from dialtone.campaigns.store import CampaignStore, ClaimLimits
from dialtone.config import load_settings
from dialtone.outbound.entry import open_attempt
from tests.campaigns.conftest import FakeClock, new_campaign

from .harness import ROOT


async def test_bad_metadata_opens_nothing() -> None:
    settings = load_settings(persona_dir=ROOT / "personas")
    assert await open_attempt('{"version": 1}', settings) is None


async def test_an_unknown_persona_fails_the_attempt_and_pauses_the_campaign(
    store: CampaignStore, clock: FakeClock, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    campaign_id = new_campaign(store, clock.now, n=1, persona="nobody")
    (claim,) = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    store.mark_dispatched(claim.attempt_id, "AD_x", clock.now)
    settings = load_settings(persona_dir=ROOT / "personas", campaign_api_url="http://api")
    opened = await open_attempt(dispatch_metadata(claim), settings, client=api)
    assert opened is None
    campaign = store.get_campaign(campaign_id)
    assert campaign.status is CampaignStatus.PAUSED
    assert "nobody" in (campaign.status_reason or "")
    assert "DIALTONE_PERSONA_DIR" in (campaign.status_reason or "")
    (row,) = list(store.results(campaign_id))
    assert (row.state, row.attempts, row.last_outcome) == ("pending", 0, "failed")


async def test_a_known_persona_opens_the_attempt(
    store: CampaignStore, clock: FakeClock, api: httpx.AsyncClient
) -> None:
    new_campaign(store, clock.now, n=1)
    (claim,) = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    settings = load_settings(persona_dir=ROOT / "personas", campaign_api_url="http://api")
    opened = await open_attempt(dispatch_metadata(claim), settings, client=api)
    assert opened is not None
    job, persona, _ = opened
    assert (job.attempt_id, persona.name) == (claim.attempt_id, "reminder")


async def test_a_job_that_cannot_run_opens_no_call_and_ends_the_job() -> None:
    from dataclasses import dataclass, field

    from livekit.protocol import agent as agent_proto

    from dialtone.outbound.entry import open_call

    @dataclass
    class Job:
        job: agent_proto.Job = field(default_factory=lambda: agent_proto.Job(metadata="{}"))
        shutdowns: list[str] = field(default_factory=list)

        def shutdown(self, reason: str = "") -> None:
            self.shutdowns.append(reason)

    job = Job()
    assert await open_call(job) is None  # type: ignore[arg-type]
    assert job.shutdowns == ["attempt cannot run"]  # the program returns without a session
