"""`/metrics`: token required, values read from the store at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import Engine

from dialtone.campaigns.models import Outcome
from dialtone.campaigns.store import CampaignStore, ClaimLimits
from dialtone.config import load_settings
from dialtone.http.server import create_app

from .conftest import FakeClock, new_campaign

API_TOKEN = "api-token-0123456789abcdef"
METRICS_TOKEN = "metrics-token-0123456789abcdef"
WIDE = ClaimLimits(global_max_concurrent=100, calls_per_second=100.0)


def app_for(engine: Engine, clock: FakeClock, tmp_path: Path) -> TestClient:
    settings = load_settings(
        api_token=SecretStr(API_TOKEN), metrics_token=SecretStr(METRICS_TOKEN), data_dir=tmp_path
    )
    return TestClient(create_app(settings, engine, clock=clock))


@pytest.fixture
def client(
    engine: Engine, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.chdir(tmp_path)
    with app_for(engine, clock, tmp_path) as c:
        yield c


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_needs_the_metrics_or_the_api_token(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert client.get("/metrics", headers={"Authorization": f"Bearer {API_TOKEN}"}).is_success
    # the metrics token opens /metrics only, never the campaign routes
    other = client.get("/v1/dnc", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert other.status_code == 401


def test_values_come_from_the_store_and_survive_a_new_process(
    client: TestClient, engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    store = CampaignStore(engine)
    new_campaign(store, clock.now, n=5)
    claims = store.claim_due(clock.now, WIDE)
    assert len(claims) == 5
    for claim in claims[:4]:
        store.mark_dispatched(claim.attempt_id, f"AD_{claim.attempt_id}", clock.now)
    outcomes = [Outcome.COMPLETED, Outcome.VOICEMAIL, Outcome.NO_ANSWER]
    for claim, outcome in zip(claims, outcomes, strict=False):
        store.report_outcome(claim.attempt_id, claim.callback_token, outcome, "", clock.now)
    m = scrape(client)
    assert m[("dialtone_campaign_calls_placed_total", ())] == 4  # one is still dispatching
    assert m[("dialtone_campaign_calls_in_flight", ())] == 2
    assert m[("dialtone_campaign_call_outcomes_total", (("outcome", "completed"),))] == 1
    assert m[("dialtone_campaign_call_outcomes_total", (("outcome", "no_answer"),))] == 1
    assert m[("dialtone_campaign_call_outcomes_total", (("outcome", "busy"),))] == 0
    assert m[("dialtone_campaign_answer_ratio", ())] == pytest.approx(2 / 3)
    assert m[("dialtone_campaign_contacts", (("state", "in_flight"),))] == 2
    assert m[("dialtone_campaign_contacts", (("state", "retry_wait"),))] == 2
    assert m[("dialtone_campaigns", (("status", "active"),))] == 1
    assert ("dialtone_campaign_dispatches_total", (("result", "dispatched"),)) in m
    # another API process (a restart, or a replica) on the same database reports the same
    with app_for(engine, clock, tmp_path) as again:
        later = scrape(again)
    for key in (
        ("dialtone_campaign_calls_placed_total", ()),
        ("dialtone_campaign_calls_in_flight", ()),
        ("dialtone_campaign_answer_ratio", ()),
    ):
        assert later[key] == m[key]
