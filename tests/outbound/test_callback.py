"""The agent's calls to the campaign API: retries, refusals, and a token kept secret."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select

from dialtone.campaigns.models import Outcome
from dialtone.campaigns.pace import LATE_TOLERANCE, TrunkPace
from dialtone.campaigns.store import CampaignStore, ClaimLimits
from dialtone.campaigns.store.claims import DIAL_KEY
from dialtone.config import load_settings
from dialtone.db.tables import attempts, trunk_sends
from dialtone.http.server import create_app
from dialtone.outbound.callback import CallbackError, CampaignCallback, RetryPolicy, _slot
from dialtone.wire import JobError, ReminderJob
from tests.campaigns.conftest import FakeClock, new_campaign

from .harness import TOKEN

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


class Flaky:
    """The real API behind a proxy that answers the first `failures` requests with 503."""

    def __init__(self, app: Any, failures: int) -> None:
        self.app = app
        self.failures = failures
        self.seen = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen += 1
            if self.seen <= self.failures:
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"upstream down"})
                return
        await self.app(scope, receive, send)


def app_for(engine: Engine, clock: FakeClock, tmp_path: Path) -> Any:
    settings = load_settings(api_token=SecretStr(TOKEN), data_dir=tmp_path / "data")
    return create_app(settings, engine, clock=clock)


async def claim(store: CampaignStore, clock: FakeClock) -> tuple[str, str]:
    new_campaign(store, clock.now, n=1)
    (c,) = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    store.mark_dispatched(c.attempt_id, "AD_x", clock.now)
    return c.attempt_id, c.callback_token


FAST = RetryPolicy(tries=4, backoff=0.001, backoff_max=0.002)


async def test_permit_and_report_survive_a_flaky_api(
    engine: Engine,
    store: CampaignStore,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    flaky = Flaky(app_for(engine, clock, tmp_path), failures=2)
    attempt_id, token = await claim(store, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=flaky), base_url="http://api"
    ) as client:
        callback = CampaignCallback("http://api", attempt_id, token, client=client, policy=FAST)
        permit = await callback.dial_permit()
        assert permit.allowed
        assert flaky.seen == 3  # two 503s, then the permit
        flaky.failures, flaky.seen = 3, 0
        assert await callback.report(Outcome.BUSY, "SIP 486")
        assert flaky.seen == 4
    with store.engine.connect() as conn:
        outcome = conn.scalar(select(attempts.c.outcome).where(attempts.c.id == attempt_id))
    assert outcome == "busy"  # recorded once, after the retries


async def test_a_wrong_token_is_not_retried_and_not_logged(
    engine: Engine,
    store: CampaignStore,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    flaky = Flaky(app_for(engine, clock, tmp_path), failures=0)
    attempt_id, _ = await claim(store, clock)
    secret = "not-the-token-but-secret-looking-0123"
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=flaky), base_url="http://api"
    ) as client:
        callback = CampaignCallback("http://api", attempt_id, secret, client=client, policy=FAST)
        with pytest.raises(CallbackError, match="401") as failed:
            await callback.dial_permit()
    assert flaky.seen == 1
    assert secret not in str(failed.value) and secret not in repr(callback)
    assert secret not in caplog.text


async def test_a_permit_request_that_stays_down_gives_up_with_a_clear_error(
    engine: Engine,
    store: CampaignStore,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    flaky = Flaky(app_for(engine, clock, tmp_path), failures=100)
    attempt_id, token = await claim(store, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=flaky), base_url="http://api"
    ) as client:
        callback = CampaignCallback("http://api", attempt_id, token, client=client, policy=FAST)
        with pytest.raises(CallbackError, match="after 4 tries: HTTP 503"):
            await callback.dial_permit()
    assert flaky.seen == 4


SLOW = RetryPolicy(tries=4, backoff=1.0, backoff_max=15.0)


async def test_the_report_is_retried_until_the_attempts_deadline_not_a_few_tries(
    engine: Engine,
    store: CampaignStore,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An outage longer than a few retries loses no outcome: the agent keeps it until the
    deadline the permit named (the server's clock is the test's clock, as is the agent's)."""
    monkeypatch.chdir(tmp_path)
    flaky = Flaky(app_for(engine, clock, tmp_path), failures=0)
    attempt_id, token = await claim(store, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=flaky), base_url="http://api"
    ) as client:
        callback = CampaignCallback(
            "http://api",
            attempt_id,
            token,
            client=client,
            policy=SLOW,
            sleep=clock.sleep,
            clock=clock,
        )
        permit = await callback.dial_permit()
        assert permit.allowed and permit.report_by is not None
        start = clock.now
        # down for four minutes: far more than 4 tries, well inside the deadline
        flaky.failures, flaky.seen = 10_000, 0
        recovered = start + timedelta(minutes=4)

        async def sleep_then_recover(seconds: float) -> None:
            await clock.sleep(seconds)
            if clock.now >= recovered:
                flaky.failures = 0

        callback._sleep = sleep_then_recover
        assert await callback.report(Outcome.OPTED_OUT, "asked not to be called again")
        assert flaky.seen > 2 * SLOW.tries
        # and when it never comes back, it gives up at the deadline, not before
        flaky.failures, flaky.seen = 10_000, 0
        callback._sleep = clock.sleep
        with pytest.raises(CallbackError, match="deadline: HTTP 503"):
            await callback.report(Outcome.OPTED_OUT, "asked not to be called again")
        assert permit.report_by - clock.now < timedelta(seconds=SLOW.backoff_max * 1.2 + 1)
    with store.engine.connect() as conn:
        outcome = conn.scalar(select(attempts.c.outcome).where(attempts.c.id == attempt_id))
    assert outcome == "opted_out"


def test_job_metadata_errors_name_fields_never_values() -> None:
    with pytest.raises(JobError, match="not JSON"):
        ReminderJob.from_metadata("{nope")
    with pytest.raises(JobError) as bad:
        ReminderJob.from_metadata(
            '{"version": 1, "kind": "reminder", "attempt_id": "xyz", "callback_token": "s3cr3t"}'
        )
    message = str(bad.value)
    assert "attempt_id" in message and "phone" in message
    assert "s3cr3t" not in message


async def test_an_agent_that_wakes_late_for_its_dial_slot_asks_for_a_fresh_one(
    engine: Engine,
    store: CampaignStore,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The permit names a dial slot behind three other dials; the agent's loop stalls
    half a second past it. Dialling then would land on top of the dials sent on time
    after it: the agent asks again (the same job: allowed, with a fresh slot) and
    dials within the pace's tolerance of the slot it holds."""
    monkeypatch.chdir(tmp_path)
    new_campaign(store, clock.now, n=4)
    claims = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    pace = TrunkPace(calls_per_second=10)
    trunk = claims[0].outbound_trunk
    store.take_send_slot(trunk, clock.now, pace.interval)  # the dispatcher set the pace
    for other in claims[1:]:  # three dials already hold the next slots
        store.mark_dispatched(other.attempt_id, "AD_o", clock.now)
        assert store.acquire_dial_permit(
            other.attempt_id, other.callback_token, clock.now, job_id="AJ_other"
        ).dial_at
    mine = claims[0]
    store.mark_dispatched(mine.attempt_id, "AD_x", clock.now)
    flaky = Flaky(app_for(engine, clock, tmp_path), failures=0)
    stalls = [0.5]

    async def stalled_sleep(seconds: float) -> None:
        await clock.sleep(seconds + (stalls.pop() if stalls else 0.0))

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=flaky), base_url="http://api"
    ) as client:
        callback = CampaignCallback(
            "http://api",
            mine.attempt_id,
            mine.callback_token,
            job_id="AJ_mine",
            client=client,
            policy=FAST,
            sleep=stalled_sleep,
            clock=clock,
        )
        permit = await callback.dial_permit()
    assert permit.allowed
    assert flaky.seen == 2  # the slot missed, then a fresh one
    with engine.connect() as conn:
        next_at = conn.scalar(
            select(trunk_sends.c.next_at).where(trunk_sends.c.trunk == DIAL_KEY.format(trunk=trunk))
        )
    held = next_at - pace.interval  # the latest dial slot: the fresh one
    assert timedelta(0) <= clock.now - held <= timedelta(seconds=LATE_TOLERANCE)


def test_the_servers_dial_slot_is_believed_only_when_the_clocks_agree() -> None:
    """`dial_at` (the server's clock) counts beside `dial_in` (this agent's) only when
    the two agree within a second: a host off NTP would dial early or never in time."""
    heard = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    body = {"dial_in": 0.5, "dial_at": (heard + timedelta(seconds=0.55)).isoformat()}
    by_wait = heard + timedelta(seconds=0.5)
    assert _slot(body, heard) == (by_wait, heard + timedelta(seconds=0.55))
    body["dial_at"] = (heard - timedelta(days=180)).isoformat()  # a clock months off
    assert _slot(body, heard) == (by_wait, by_wait)
    assert _slot({"dial_in": 0.5}, heard) == (by_wait, by_wait)
