"""The message inbox: filters, `POST /v1/messages/{id}/handled`, the `message.created` hook."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from dialtone.campaigns.outbox import webhook_outbox
from dialtone.campaigns.webhooks import SIGNATURE_HEADER, WebhookSender, verify_signature
from dialtone.config import ConfigError, load_settings
from dialtone.db.tables import messages
from dialtone.http.server import create_app
from dialtone.messages.store import MessageStore
from dialtone.netguard import Allowed
from tests.campaigns.conftest import FakeClock
from tests.campaigns.test_webhooks import FAST, Receiver, receiver  # noqa: F401

from .conftest import AUTH, TOKEN
from .test_messages import T0, leave
from .test_messages import receptionist as receptionist  # the fixture

SECRET = "whsec-messages-0123456789abcdef"


def _ids(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/v1/messages", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["items"]]


def test_mark_handled_once_and_filter_by_it(
    client: TestClient, receptionist: MessageStore, clock: FakeClock
) -> None:
    for n in range(3):
        leave(receptionist, f"m{n}", T0 + timedelta(minutes=n), f"message {n}")
    assert client.get("/v1/messages/m1", headers=AUTH).json()["handled_at"] is None

    done = client.post("/v1/messages/m1/handled", headers=AUTH)
    assert done.status_code == 200 and done.json()["handled_at"] is not None
    first = done.json()["handled_at"]
    clock.advance(600)
    again = client.post("/v1/messages/m1/handled", headers=AUTH).json()
    assert again["handled_at"] == first  # handled once; the first time stands

    assert _ids(client, handled="false") == ["m2", "m0"]
    assert _ids(client, handled="true") == ["m1"]
    assert _ids(client) == ["m2", "m1", "m0"]
    missing = client.post("/v1/messages/nope/handled", headers=AUTH)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    assert client.post("/v1/messages/m0/handled").status_code == 401


def test_filters_by_persona_and_time(client: TestClient, receptionist: MessageStore) -> None:
    leave(receptionist, "early", T0, "a")
    leave(receptionist, "late", T0 + timedelta(hours=2), "b")
    with receptionist._engine.begin() as conn:
        conn.execute(messages.update().where(messages.c.id == "late").values(persona="dental"))
    assert _ids(client, persona="dental") == ["late"]
    after = (T0 + timedelta(hours=1)).isoformat()
    assert _ids(client, **{"from": after}) == ["late"]
    assert _ids(client, to=after) == ["early"]
    naive = client.get("/v1/messages", params={"from": "2026-06-10T15:00:00"}, headers=AUTH)
    assert naive.status_code == 422 and "time zone" in naive.json()["detail"]


async def test_a_message_and_its_signed_event_are_written_together(
    engine: Engine,
    receiver: Receiver,  # noqa: F811
    clock: FakeClock,
) -> None:
    store = MessageStore(engine, webhook_url=receiver.url)
    stored = await store.add(
        persona="receptionist",
        message="Call me about the boiler",
        caller_number="+15550100222",
        call_id="SCL_1",
        room="call-1",
    )
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(webhook_outbox)) == 1
    clock.now = stored.created_at + timedelta(seconds=1)  # the event is due from then
    local = Allowed.from_setting("127.0.0.1")  # the receiver runs on this machine
    sender = WebhookSender(engine, SECRET, config=FAST, clock=clock, allowed=local)
    assert (await sender.deliver_due())["delivered"] == 1
    headers, body = receiver.requests[0]
    assert headers["dialtone-event"] == "message.created"
    signature = headers[SIGNATURE_HEADER.lower()]
    assert verify_signature(SECRET, signature, body, now=clock().timestamp())
    event = json.loads(body)
    assert event["type"] == "message.created"
    assert event["data"]["id"] == stored.id
    assert event["data"]["message"] == "Call me about the boiler"
    assert event["data"]["caller_number"] == "+15550100222"


async def test_no_url_writes_no_event(engine: Engine) -> None:
    await MessageStore(engine).add(
        persona="receptionist", message="hi", caller_number=None, call_id=None, room=None
    )
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(webhook_outbox)) == 0


def test_a_message_webhook_without_a_secret_refuses_to_start(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        api_token=SecretStr(TOKEN),
        data_dir=tmp_path,
        message_webhook_url="https://crm.example/hooks",
    )
    with pytest.raises(ConfigError, match="DIALTONE_WEBHOOK_SECRET"):
        create_app(settings, engine)
    with pytest.raises(ConfigError, match="DIALTONE_MESSAGE_WEBHOOK_URL"):
        load_settings(message_webhook_url="ftp://crm.example/hooks")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/hooks", "http://169.254.169.254/x", "http://[::1]/x"]
)
def test_a_message_webhook_to_a_private_address_refuses_to_start(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        api_token=SecretStr(TOKEN),
        data_dir=tmp_path,
        webhook_secret=SecretStr("whsec-0123456789abcdef"),
        message_webhook_url=url,
    )
    refused = r"DIALTONE_MESSAGE_WEBHOOK_URL: .*DIALTONE_WEBHOOK_ALLOW"
    with pytest.raises(ConfigError, match=refused):
        create_app(settings, engine)
    allowed = settings.model_copy(update={"webhook_allow": "127.0.0.1,169.254.0.0/16,::1"})
    create_app(allowed, engine)  # a deployer's own receiver, allowed by name or network
