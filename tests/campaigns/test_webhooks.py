"""Webhooks: signed, written with the outcome (outbox), retried, delivered at least once.

The receiver is a real HTTP server on a local port that records every request and can
be told to fail; the sender posts to it with httpx exactly as in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from dialtone.campaigns.models import ContactState, Outcome
from dialtone.campaigns.outbox import DeliveryStatus, webhook_outbox, webhook_secrets
from dialtone.campaigns.store import BadToken, CampaignStore, ClaimLimits
from dialtone.campaigns.webhooks import (
    SIGNATURE_HEADER,
    WebhookConfig,
    WebhookSender,
    sign,
    verify_signature,
)
from dialtone.config import load_settings
from dialtone.db.engine import new_engine
from dialtone.http.server import create_app
from dialtone.netguard import Allowed

from .conftest import FakeClock, people, settings
from .helpers import contact_states

SECRET = "whsec-campaign-0123456789abcdef"
API_TOKEN = "api-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
WIDE = ClaimLimits(global_max_concurrent=100, calls_per_second=100.0)
FAST = WebhookConfig(timeout=5.0, backoff=10.0, backoff_max=60.0, max_tries=4)


@dataclass
class Receiver:
    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many requests first
    redirect: str = ""  # answer 307 to this Location instead


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = 200
            if state.fail_next > 0:
                state.fail_next -= 1
                status = 500
            if state.redirect:
                self.send_response(307)
                self.send_header("Location", state.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default 5 resets a burst of concurrent POSTs

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/dialtone"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def sender(engine: Engine, clock: FakeClock, default: str = "") -> WebhookSender:
    # The receiver listens on this machine, allowed as a deployer would allow theirs.
    local = Allowed.from_setting("127.0.0.1")
    return WebhookSender(engine, default, config=FAST, clock=clock, allowed=local)


def outbox_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(webhook_outbox).order_by(webhook_outbox.c.id)))


def campaign_with_hook(store: CampaignStore, clock: FakeClock, url: str, n: int = 2) -> str:
    campaign_id, _ = store.create_campaign(
        settings(webhook_url=url), people(n), clock.now, webhook_secret=SECRET
    )
    return campaign_id


def test_signature_format_and_verification() -> None:
    body = b'{"id":"e1"}'
    header = sign(SECRET, body, 1_700_000_000)
    # the documented recipe, computed independently of `sign`
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify_signature(SECRET, header, body, now=1_700_000_100)
    assert not verify_signature(SECRET, header, body + b" ", now=1_700_000_100)  # tampered
    assert not verify_signature("another-secret-0123456789", header, body, now=1_700_000_100)
    assert not verify_signature(SECRET, header, body, now=1_700_000_000 + 301)  # replayed late
    assert not verify_signature(SECRET, header, body, now=1_700_000_000 - 301)
    assert not verify_signature(SECRET, "v1=" + expected, body, now=1_700_000_000)
    assert not verify_signature(SECRET, "garbage", body)


async def test_outcome_and_its_event_commit_together_and_are_delivered_signed(
    store: CampaignStore, engine: Engine, clock: FakeClock, receiver: Receiver
) -> None:
    campaign_id = campaign_with_hook(store, clock, receiver.url, n=1)
    (claim,) = store.claim_due(clock.now, WIDE)
    with pytest.raises(BadToken):
        store.report_outcome(claim.attempt_id, "wrong", Outcome.COMPLETED, "", clock.now)
    assert outbox_rows(engine) == []  # a refused report writes no event
    store.report_outcome(claim.attempt_id, claim.callback_token, Outcome.COMPLETED, "ok", clock.now)
    (row,) = outbox_rows(engine)
    assert row.type == "call.outcome" and row.status == DeliveryStatus.PENDING

    # The process that recorded it "crashed" before sending: a fresh sender on a fresh
    # engine (another process) finds and delivers it.
    other = new_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        counts = await sender(other, clock).deliver_due()
    finally:
        other.dispose()
    assert counts == {"delivered": 1, "failed": 0, "dead": 0}
    ((headers, body),) = receiver.requests
    assert headers["dialtone-event"] == "call.outcome"
    assert headers["content-type"] == "application/json"
    assert verify_signature(
        SECRET, headers[SIGNATURE_HEADER.lower()], body, now=clock.now.timestamp()
    )
    event = json.loads(body)
    assert event["id"] == headers["dialtone-event-id"] == row.event_id
    data = event["data"]
    assert data["campaign_id"] == campaign_id and data["attempt_id"] == claim.attempt_id
    assert data["outcome"] == "completed" and data["detail"] == "ok"
    assert data["contact"]["phone"] == claim.phone and data["contact"]["state"] == "completed"
    assert data["contact"]["variables"] == {"appointment": "slot 0"}
    assert outbox_rows(engine)[0].status == DeliveryStatus.DELIVERED
    assert await sender(engine, clock).deliver_due() == {"delivered": 0, "failed": 0, "dead": 0}


async def test_failures_are_retried_with_backoff_under_the_same_event_id(
    store: CampaignStore, engine: Engine, clock: FakeClock, receiver: Receiver
) -> None:
    campaign_with_hook(store, clock, receiver.url, n=1)
    (claim,) = store.claim_due(clock.now, WIDE)
    store.report_outcome(claim.attempt_id, claim.callback_token, Outcome.BUSY, "", clock.now)
    receiver.fail_next = 2
    hooks = sender(engine, clock)
    assert (await hooks.deliver_due())["failed"] == 1
    assert (await hooks.deliver_due())["failed"] == 0  # not due yet: backing off
    waits = []
    for _ in range(2):
        (row,) = outbox_rows(engine)
        waits.append((row.next_at - clock.now).total_seconds())
        clock.now = row.next_at
        await hooks.deliver_due()
    assert 8 <= waits[0] <= 12 and 16 <= waits[1] <= 24  # 10 s, then 20 s (+-20% jitter)
    (row,) = outbox_rows(engine)
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 3
    ids = {h["dialtone-event-id"] for h, _ in receiver.requests}
    assert len(receiver.requests) == 3 and ids == {row.event_id}
    assert json.loads(receiver.requests[-1][1])["data"]["contact"]["state"] == "retry_wait"


async def test_two_senders_at_once_post_each_event_once(
    store: CampaignStore, engine: Engine, clock: FakeClock, receiver: Receiver
) -> None:
    """Every replica runs a sender; the lease on a row makes each pass post it once."""
    campaign_with_hook(store, clock, receiver.url, n=20)
    claimed = 0
    while claims := store.claim_due(clock.now, WIDE):  # max_concurrent 5: several rounds
        for claim in claims:
            store.report_outcome(
                claim.attempt_id, claim.callback_token, Outcome.INVALID_NUMBER, "", clock.now
            )
        claimed += len(claims)
    assert claimed == 20
    url = engine.url.render_as_string(hide_password=False)
    engines = [new_engine(url), new_engine(url)]
    try:
        results = await asyncio.gather(*(sender(e, clock).deliver_due() for e in engines))
    finally:
        for e in engines:
            e.dispose()
    assert sum(r["delivered"] for r in results) == 20
    ids = [h["dialtone-event-id"] for h, _ in receiver.requests]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert {r.status for r in outbox_rows(engine)} == {DeliveryStatus.DELIVERED}


async def test_gives_up_after_max_tries_and_never_logs_the_secret(
    store: CampaignStore,
    engine: Engine,
    clock: FakeClock,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    campaign_with_hook(store, clock, receiver.url, n=1)
    (claim,) = store.claim_due(clock.now, WIDE)
    store.report_outcome(claim.attempt_id, claim.callback_token, Outcome.VOICEMAIL, "", clock.now)
    receiver.fail_next = 100
    hooks = sender(engine, clock)
    caplog.set_level(logging.DEBUG)
    results = []
    for _ in range(FAST.max_tries):
        results.append(await hooks.deliver_due())
        clock.advance(3600)
    assert [r["dead"] for r in results] == [0, 0, 0, 1]
    (row,) = outbox_rows(engine)
    assert row.status == DeliveryStatus.DEAD and row.last_error == "HTTP 500"
    assert SECRET not in caplog.text and "HTTP 500" in caplog.text


async def test_campaign_finished_is_written_once_when_the_last_contact_ends(
    store: CampaignStore, engine: Engine, clock: FakeClock, receiver: Receiver
) -> None:
    campaign_id = campaign_with_hook(store, clock, receiver.url, n=2)
    first, second = store.claim_due(clock.now, WIDE)
    store.report_outcome(first.attempt_id, first.callback_token, Outcome.COMPLETED, "", clock.now)
    assert store.complete_finished(clock.now) == []
    store.report_outcome(
        second.attempt_id, second.callback_token, Outcome.INVALID_NUMBER, "", clock.now
    )
    assert store.complete_finished(clock.now) == [campaign_id]
    assert store.complete_finished(clock.now) == []
    types = [r.type for r in outbox_rows(engine)]
    assert types == ["call.outcome", "call.outcome", "campaign.finished"]
    await sender(engine, clock).deliver_due()
    by_type = {json.loads(b)["type"]: json.loads(b) for _, b in receiver.requests}
    assert len(receiver.requests) == 3
    assert by_type["campaign.finished"]["data"] == {
        "campaign_id": campaign_id,
        "name": "Flu shots",
        "status": "completed",
        "contacts": {"total": 2, "completed": 1, "failed": 1},
    }


def test_cancel_writes_campaign_finished_and_no_url_writes_nothing(
    store: CampaignStore, engine: Engine, clock: FakeClock, receiver: Receiver
) -> None:
    campaign_id = campaign_with_hook(store, clock, receiver.url, n=3)
    store.set_status(campaign_id, "cancel", clock.now)
    store.set_status(campaign_id, "cancel", clock.now)  # a repeat is a no-op
    (row,) = outbox_rows(engine)
    data = json.loads(row.payload)["data"]
    assert data["status"] == "cancelled" and data["contacts"]["cancelled"] == 3
    plain, _ = store.create_campaign(settings(), people(1, start=50), clock.now)
    (claim,) = store.claim_due(clock.now, WIDE)
    store.report_outcome(claim.attempt_id, claim.callback_token, Outcome.COMPLETED, "", clock.now)
    store.complete_finished(clock.now)
    assert len(outbox_rows(engine)) == 1
    assert contact_states(store, plain)[claim.phone] == ContactState.COMPLETED


async def test_default_secret_from_the_environment_and_none_means_not_sent(
    store: CampaignStore, engine: Engine, clock: FakeClock, receiver: Receiver
) -> None:
    store.create_campaign(settings(webhook_url=receiver.url), people(1), clock.now)
    (claim,) = store.claim_due(clock.now, WIDE)
    store.report_outcome(claim.attempt_id, claim.callback_token, Outcome.BUSY, "", clock.now)
    assert (await sender(engine, clock, default="").deliver_due())["failed"] == 1
    assert receiver.requests == []  # never sent unsigned
    assert "DIALTONE_WEBHOOK_SECRET" in outbox_rows(engine)[0].last_error
    clock.advance(3600)
    env_secret = "from-the-environment-0123456789"
    assert (await sender(engine, clock, default=env_secret).deliver_due())["delivered"] == 1
    ((headers, body),) = receiver.requests
    assert verify_signature(
        env_secret, headers["dialtone-signature"], body, now=clock.now.timestamp()
    )
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(webhook_secrets)) == 0


@pytest.fixture
def client(
    engine: Engine, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    app = create_app(
        load_settings(
            api_token=SecretStr(API_TOKEN),
            webhook_allow="127.0.0.1",
            data_dir=tmp_path,
            persona_dir=Path(__file__).resolve().parents[2] / "personas",
        ),
        engine,
        clock=clock,
    )
    with TestClient(app) as c:
        yield c


def test_api_takes_the_secret_out_of_the_spec_and_never_returns_it(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    body: dict[str, Any] = {
        **settings().model_dump(mode="json"),
        "webhook_url": receiver.url,
        "contacts": [{"phone": "+15550200001", "variables": {"appointment": "Tue"}}],
    }
    missing = client.post("/v1/campaigns", json=body, headers=AUTH)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "webhook_secret"
    assert "DIALTONE_WEBHOOK_SECRET" in missing.json()["errors"][0]["reason"]
    short = client.post("/v1/campaigns", json={**body, "webhook_secret": "short"}, headers=AUTH)
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "webhook_secret"
    made = client.post("/v1/campaigns", json={**body, "webhook_secret": SECRET}, headers=AUTH)
    assert made.status_code == 201, made.text
    view = client.get(f"/v1/campaigns/{made.json()['id']}", headers=AUTH)
    assert SECRET not in made.text and SECRET not in view.text
    assert view.json()["settings"]["webhook_url"] == receiver.url
    with engine.connect() as conn:
        assert conn.scalar(select(webhook_secrets.c.secret)) == SECRET
    no_url = {**body, "webhook_url": None, "webhook_secret": SECRET}
    assert client.post("/v1/campaigns", json=no_url, headers=AUTH).status_code == 422


async def test_a_name_that_turns_private_at_delivery_is_refused(
    store: CampaignStore, engine: Engine, clock: FakeClock, receiver: Receiver
) -> None:
    """DNS rebinding: the name was fine when given, and points at this machine when the
    event is sent. Nothing reaches the local receiver; the try fails and says why."""
    port = receiver.url.split(":")[2].split("/")[0]
    campaign_with_hook(store, clock, f"http://hooks.rebind.test:{port}/hooks/dialtone", n=1)
    (claim,) = store.claim_due(clock.now, WIDE)
    store.report_outcome(claim.attempt_id, claim.callback_token, Outcome.COMPLETED, "ok", clock.now)

    def rebinding(_host: str, _port: int) -> list[str]:
        return ["127.0.0.1"]

    strict = WebhookSender(engine, "", config=FAST, clock=clock, resolver=rebinding)
    assert (await strict.deliver_due())["failed"] == 1
    assert receiver.requests == []
    (row,) = outbox_rows(engine)
    assert row.last_error.startswith("refused: hooks.rebind.test resolves to 127.0.0.1")

    # Allowed by name, it is delivered to the address checked, with its own Host header.
    allowed = WebhookSender(
        engine,
        "",
        config=FAST,
        clock=clock,
        resolver=rebinding,
        allowed=Allowed.from_setting("hooks.rebind.test"),
    )
    clock.advance(3600)
    assert (await allowed.deliver_due())["delivered"] == 1
    ((headers, _),) = receiver.requests
    assert headers["host"] == f"hooks.rebind.test:{port}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://[::1]/hook",
        "http://2130706433/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
def test_the_api_refuses_private_webhook_urls(tmp_path: Path, engine: Engine, url: str) -> None:
    app = create_app(
        load_settings(
            api_token=SecretStr(API_TOKEN),
            data_dir=tmp_path,
            persona_dir=Path(__file__).resolve().parents[2] / "personas",
        ),
        engine,
    )
    body: dict[str, Any] = {
        **settings().model_dump(mode="json"),
        "webhook_url": url,
        "webhook_secret": SECRET,
        "contacts": [{"phone": "+15550200001", "variables": {"appointment": "Tue"}}],
    }
    adhoc: dict[str, Any] = {
        "phone": "+15550200001",
        "timezone": "America/New_York",
        "variables": {"appointment": "Tue"},
        "persona": body["persona"],
        "outbound_trunk": body["outbound_trunk"],
        "caller_id": body["caller_id"],
        "webhook_url": url,
        "webhook_secret": SECRET,
    }
    with TestClient(app) as client:
        for path, sent in (("/v1/campaigns", body), ("/v1/calls", adhoc)):
            refused = client.post(path, json=sent, headers=AUTH)
            assert refused.status_code == 422, (path, refused.text)
            fields = {e["field"] for e in refused.json()["errors"]}
            assert fields == {"webhook_url"}, refused.json()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(webhook_outbox)) == 0


async def test_a_redirect_is_not_followed(
    store: CampaignStore, engine: Engine, clock: FakeClock, receiver: Receiver
) -> None:
    """An allowed receiver that answers 307 to the metadata address does not get the
    server to post there: the try fails with the status, and nothing else is asked."""
    campaign_with_hook(store, clock, receiver.url, n=1)
    (claim,) = store.claim_due(clock.now, WIDE)
    store.report_outcome(claim.attempt_id, claim.callback_token, Outcome.COMPLETED, "ok", clock.now)
    receiver.redirect = "http://169.254.169.254/latest/meta-data/"
    assert (await sender(engine, clock).deliver_due())["failed"] == 1
    assert len(receiver.requests) == 1
    (row,) = outbox_rows(engine)
    assert row.last_error == "HTTP 307"
