"""The calling policy as a user meets it: campaigns made through the API, ticks of the
scheduler's claim, the agent's dial permit and outcome over HTTP, the campaign's view.

Every case runs on SQLite and on PostgreSQL (the `engine` fixture's backends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select

from dialtone.campaigns.store import CampaignStore, Claim, ClaimLimits
from dialtone.db.tables import contacts
from dialtone.http.server import create_app
from tests.campaigns.conftest import FakeClock

from .conftest import AUTH, LK_KEY, LK_SECRET, SPEC, api_settings

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WIDE = {"start": "07:00", "end": "22:30", "days": EVERY_DAY}
NEW_YORK = "+12125550123"  # NANP area code 212: New York, America/New_York
MIAMI = "+13055550123"  # area code 305: Florida, America/New_York
LIMITS = ClaimLimits(calls_per_second=100, global_max_concurrent=100)
#: the agent may try again a minute after no answer: only the policy spaces calls
QUICK_RETRY = {"max_attempts": 10, "delays": {"no_answer": 60}}


@pytest.fixture
def make_client(
    engine: Engine, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., TestClient]]:
    monkeypatch.chdir(tmp_path)
    clients: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        app = create_app(
            api_settings(
                tmp_path,
                livekit_api_key=LK_KEY,
                livekit_api_secret=SecretStr(LK_SECRET),
                **settings,
            ),
            engine,
            clock=clock,
        )
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def store_of(client: TestClient) -> CampaignStore:
    store: CampaignStore = client.app.state.services.campaigns  # type: ignore[attr-defined]
    return store


def create(client: TestClient, phone: str, **extra: Any) -> dict[str, Any]:
    body = {
        **SPEC,
        "window": WIDE,
        "retry": QUICK_RETRY,
        "contacts": [{"phone": phone, "name": "Ann", "variables": {"appointment": "Tue"}}],
        **extra,
    }
    response = client.post("/v1/campaigns", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def tick(client: TestClient, clock: FakeClock) -> list[Claim]:
    return store_of(client).claim_due(clock.now, LIMITS)


def dial(client: TestClient, claim: Claim) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {claim.callback_token}"}
    response = client.post(f"/v1/attempts/{claim.attempt_id}/dial", headers=auth)
    assert response.status_code == 200, response.text
    permit: dict[str, Any] = response.json()
    return permit


def no_answer(client: TestClient, claim: Claim) -> None:
    auth = {"Authorization": f"Bearer {claim.callback_token}"}
    response = client.post(
        f"/v1/attempts/{claim.attempt_id}/outcome", json={"outcome": "no_answer"}, headers=auth
    )
    assert response.status_code == 200, response.text


def view(client: TestClient, campaign_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/campaigns/{campaign_id}", headers=AUTH).json()
    return body


def local(zone: str, *args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


def test_a_wide_us_campaign_calls_only_between_8_and_21_local(
    make_client: Callable[..., TestClient], clock: FakeClock, engine: Engine
) -> None:
    client = make_client()
    clock.now = local("America/New_York", 2026, 6, 10, 7, 30)  # a Wednesday
    campaign = create(client, NEW_YORK)
    # The window is kept as asked; the response says where the law narrows it.
    assert campaign["settings"]["window"]["start"] == "07:00"
    notes = campaign["policy"]["calling_hours"]
    assert len(notes) == 1 and "US (08:00-21:00" in notes[0]
    with engine.connect() as conn:
        where = conn.execute(
            select(
                contacts.c.timezone,
                contacts.c.country,
                contacts.c.region,
                contacts.c.location_source,
            )
        ).one()
    assert tuple(where) == (
        "America/New_York",
        "US",
        "NY",
        "zone=number country=number region=number",
    )

    assert tick(client, clock) == []  # 07:30: inside the window, before the law's 08:00
    assert view(client, campaign["id"])["policy"]["refusals"] == {"legal_hours": 1}
    clock.now = local("America/New_York", 2026, 6, 10, 7, 59)
    assert tick(client, clock) == []  # not even asked again: it waits for 08:00
    clock.now = local("America/New_York", 2026, 6, 10, 8, 0)
    (claim,) = tick(client, clock)
    assert dial(client, claim)["allowed"] is True
    no_answer(client, claim)

    # Claimed at 20:59, the agent asks to dial at 21:00: refused at dial time.
    clock.now = local("America/New_York", 2026, 6, 10, 20, 59)
    (claim,) = tick(client, clock)
    clock.now = local("America/New_York", 2026, 6, 10, 21, 0)
    permit = dial(client, claim)
    assert permit["allowed"] is False
    assert "legal calling hours for US" in permit["reason"]
    # Until 08:00 the next morning nothing is claimed, however often the scheduler ticks.
    for hour, minute in ((21, 0), (22, 29), (23, 59)):
        clock.now = local("America/New_York", 2026, 6, 10, hour, minute)
        assert tick(client, clock) == []
    clock.now = local("America/New_York", 2026, 6, 11, 7, 59)
    assert tick(client, clock) == []
    clock.now = local("America/New_York", 2026, 6, 11, 8, 0)
    assert len(tick(client, clock)) == 1


def test_florida_not_after_20_nor_more_than_3_calls_in_24_hours_across_campaigns(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    client = make_client()
    clock.now = local("America/New_York", 2026, 6, 10, 19, 0)
    first = create(client, MIAMI, name="Cleaning")
    second = create(client, MIAMI, name="Flu shots")
    assert "US-FL (08:00-20:00" in " ".join(first["policy"]["calling_hours"])
    placed: list[datetime] = []
    # Tick every minute from 19:00 to 20:30 on day one: both campaigns want the number.
    end = local("America/New_York", 2026, 6, 10, 20, 30)
    while clock.now < end:
        for claim in tick(client, clock):
            assert dial(client, claim)["allowed"] is True
            placed.append(clock.now)
            no_answer(client, claim)
        clock.advance(minutes=1)
    assert len(placed) == 3  # the state's 24-hour cap (and the daily cap), across both
    assert max(placed) < local("America/New_York", 2026, 6, 10, 20, 0)
    assert placed[1] - placed[0] >= timedelta(minutes=10)  # the minimum gap
    # The next morning the daily cap is fresh, but Florida's 24 hours are not.
    clock.now = local("America/New_York", 2026, 6, 11, 8, 0)
    while clock.now < placed[0] + timedelta(hours=24):
        assert tick(client, clock) == []
        clock.advance(minutes=30)
    clock.now = placed[0] + timedelta(hours=24)
    assert len(tick(client, clock)) == 1
    reasons = {
        **view(client, first["id"])["policy"]["refusals"],
        **view(client, second["id"])["policy"]["refusals"],
    }
    assert "calls_24h" in reasons and "min_gap" in reasons


def test_a_federal_holiday_is_skipped(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    client = make_client()
    clock.now = local("America/New_York", 2026, 12, 25, 10, 0)  # Christmas Day, a Friday
    campaign = create(client, NEW_YORK)
    assert tick(client, clock) == []
    assert view(client, campaign["id"])["policy"]["refusals"] == {"holiday": 1}
    clock.now = local("America/New_York", 2026, 12, 25, 20, 0)
    assert tick(client, clock) == []
    clock.now = local("America/New_York", 2026, 12, 26, 8, 0)
    assert len(tick(client, clock)) == 1


def test_a_deployer_closure_day_is_skipped(
    make_client: Callable[..., TestClient], clock: FakeClock, tmp_path: Path
) -> None:
    rules = tmp_path / "calling-rules.yaml"
    rules.write_text(
        "closures:\n  - date: 2026-06-10\n    reason: clinic closed\n    regions: [US-NY]\n"
    )
    client = make_client(calling_rules=rules)
    clock.now = local("America/New_York", 2026, 6, 10, 10, 0)
    campaign = create(client, NEW_YORK)
    elsewhere = create(client, MIAMI, name="Miami")  # not closed there
    claims = tick(client, clock)
    assert [c.campaign_id for c in claims] == [elsewhere["id"]]
    assert view(client, campaign["id"])["policy"]["refusals"] == {"closure": 1}
    clock.now = local("America/New_York", 2026, 6, 11, 8, 0)
    assert [c.campaign_id for c in tick(client, clock)] == [campaign["id"]]


def test_a_bad_rules_file_stops_the_api_with_one_line(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    from dialtone.config import ConfigError

    rules = tmp_path / "calling-rules.yaml"
    rules.write_text("per_number:\n  per_day: 0\n")
    with pytest.raises(ConfigError) as caught:
        make_client(calling_rules=rules)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{rules}: per_number.per_day: ")


def report(client: TestClient, claim: Claim, outcome: str, abandoned: bool | None) -> None:
    auth = {"Authorization": f"Bearer {claim.callback_token}"}
    body: dict[str, Any] = {"outcome": outcome}
    if abandoned is not None:
        body["abandoned"] = abandoned
    response = client.post(f"/v1/attempts/{claim.attempt_id}/outcome", json=body, headers=auth)
    assert response.status_code == 200, response.text


def test_abandoned_calls_are_counted_and_pause_the_campaign_above_3_percent(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    client = make_client()
    clock.now = local("America/New_York", 2026, 6, 10, 10, 0)
    people = [
        {"phone": f"+1212555{i:04d}", "name": "P", "variables": {"appointment": "Tue"}}
        for i in range(41)
    ]
    body = {**SPEC, "window": WIDE, "max_concurrent": 50, "contacts": people}
    campaign = client.post("/v1/campaigns", json=body, headers=AUTH).json()
    claims = tick(client, clock)
    assert len(claims) == 41
    for claim in claims:
        assert dial(client, claim)["allowed"] is True
    # 33 people heard the agent in time; 6 machines answered (not counted)
    for claim in claims[:33]:
        report(client, claim, "completed", False)
    for claim in claims[33:39]:
        report(client, claim, "voicemail", None)
    policy = view(client, campaign["id"])["policy"]
    assert (policy["answered_24h"], policy["abandoned_24h"]) == (33, 0)
    report(client, claims[39], "completed", True)  # 1 of 34 = 2.9 %: under 3 %
    shown = view(client, campaign["id"])
    assert shown["status"] == "active"
    assert shown["policy"]["abandoned_rate_24h"] == round(1 / 34, 4)
    metrics = client.get("/metrics", headers=AUTH).text
    assert f"dialtone_campaign_abandoned_ratio_max {1 / 34}" in metrics
    report(client, claims[40], "completed", True)  # 2 of 35 = 5.7 %: pauses itself
    shown = view(client, campaign["id"])
    assert shown["status"] == "paused"
    assert shown["status_reason"].startswith("abandoned calls 2 of 35 answered in 24 hours")
    # A day later those calls no longer count.
    clock.now += timedelta(hours=24, seconds=1)
    assert view(client, campaign["id"])["policy"]["answered_24h"] == 0


def test_refusals_are_countable_by_reason_in_prometheus(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    client = make_client()
    clock.now = local("America/New_York", 2026, 6, 10, 7, 0)
    create(client, NEW_YORK)
    assert tick(client, clock) == []
    metrics = client.get("/metrics", headers=AUTH).text
    assert 'dialtone_campaign_policy_refusals_total{reason="legal_hours"} 1.0' in metrics
    assert 'dialtone_campaign_policy_refusals_total{reason="holiday"} 0.0' in metrics
