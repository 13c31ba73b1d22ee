"""`GET /v1/calls`, `GET /v1/calls/{id}` and the LiveKit webhook."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.protobuf.json_format import MessageToJson
from livekit.api import AccessToken
from livekit.protocol.models import DisconnectReason, ParticipantInfo, Room
from livekit.protocol.webhook import WebhookEvent
from pydantic import SecretStr
from sqlalchemy import Engine

from dialtone.config import load_settings
from dialtone.http.server import create_app
from dialtone.records.models import CallOutcome, Direction, TranscriptLine
from dialtone.records.store import CallEnd, CallFilter, CallStart, RecordStore
from tests.records import conftest as records
from tests.records.conftest import T0, Clock

from .conftest import LK_KEY, LK_SECRET

# The call-record store and its clock, in place of the campaign fixtures of ./conftest.py.
store = records.store
clock = records.clock

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def seed(store: RecordStore, n: int) -> list[str]:
    ids = []
    for i in range(n):
        direction = Direction.OUTBOUND if i % 2 else Direction.INBOUND
        outcome = CallOutcome.BUSY if i % 4 == 1 else CallOutcome.COMPLETED
        at = T0 + timedelta(minutes=i)
        end = CallEnd(
            outcome=outcome,
            ended_at=at + timedelta(seconds=30),
            transcript=[TranscriptLine(at=0.5, speaker="agent", text=f"hello {i}")],
        )
        ids.append(store.insert_closed(CallStart(direction, room=f"r{i}"), end, at))
    return ids


def test_the_records_routes_need_the_bearer_token(client: TestClient, store: RecordStore) -> None:
    (record_id,) = seed(store, 1)
    for path in ("/v1/calls", f"/v1/calls/{record_id}"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(path, headers=AUTH).status_code == 200


def test_list_pages_and_filters(client: TestClient, store: RecordStore) -> None:
    ids = seed(store, 12)
    got: list[str] = []
    params: dict[str, Any] = {"limit": 5, "direction": "outbound"}
    while True:
        body = client.get("/v1/calls", params=params, headers=AUTH).json()
        assert set(body) == {"items", "next_cursor"}  # the one list envelope
        got += [c["id"] for c in body["items"]]
        assert all(c["transcript"] is None for c in body["items"])
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert got == [ids[i] for i in (11, 9, 7, 5, 3, 1)]
    busy = client.get(
        "/v1/calls",
        params={"outcome": "busy", "from": "2026-06-10T15:02:00Z", "to": "2026-06-10T15:09:00Z"},
        headers=AUTH,
    ).json()
    assert [c["id"] for c in busy["items"]] == [ids[5]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"outcome": "great"}, "outcome"),
        ({"from": "yesterday"}, "from"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_filters_name_the_parameter(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/v1/calls", params=params, headers=AUTH)
    assert response.status_code == 422
    assert field in response.text


def test_a_bad_cursor_or_a_naive_time_is_a_clear_error(client: TestClient) -> None:
    bad = client.get("/v1/calls", params={"cursor": "xyz"}, headers=AUTH)
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]
    naive = client.get("/v1/calls", params={"from": "2026-06-10T15:00:00"}, headers=AUTH)
    assert naive.status_code == 422 and "from" in naive.text


def test_one_call_comes_with_its_transcript(client: TestClient, store: RecordStore) -> None:
    ids = seed(store, 2)
    body = client.get(f"/v1/calls/{ids[1]}", headers=AUTH).json()
    assert body["transcript"] == [
        {"at": 0.5, "speaker": "agent", "text": "hello 1", "interrupted": False}
    ]
    assert body["direction"] == "outbound" and body["outcome"] == "busy"
    missing = client.get("/v1/calls/nope", headers=AUTH)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_post_v1_calls_still_places_an_adhoc_call(client: TestClient) -> None:
    response = client.post(
        "/v1/calls",
        json={
            "phone": "+15550200001",
            "timezone": "America/New_York",
            "persona": "reminder",
            "outbound_trunk": "ST_trunk1",
            "caller_id": "+15550100100",
            "variables": {"appointment": "Tue 3pm"},
        },
        headers=AUTH,
    )
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "adhoc"


# --- the LiveKit webhook --------------------------------------------------------------


def caller_left_event(room: str = "call-_+15551230000_x", call_id: str = "SCL_gone") -> str:
    event = WebhookEvent(
        event="participant_left",
        room=Room(name=room),
        participant=ParticipantInfo(
            identity="sip_+15551230000",
            kind=ParticipantInfo.Kind.SIP,
            disconnect_reason=DisconnectReason.CLIENT_INITIATED,
            attributes={
                "sip.callID": call_id,
                "sip.phoneNumber": "+15551230000",
                "sip.trunkPhoneNumber": "+15550100100",
                "sip.trunkID": "ST_in",
            },
        ),
        id="EV_1",
        created_at=1_781_000_000,
    )
    return MessageToJson(event)


def signed(body: str, *, secret: str = LK_SECRET, key: str = LK_KEY) -> dict[str, str]:
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = AccessToken(key, secret).with_sha256(digest).to_jwt()
    return {"Authorization": token, "Content-Type": "application/webhook+json"}


def post(client: TestClient, body: str, headers: dict[str, str]) -> Any:
    return client.post("/v1/livekit/webhook", content=body.encode(), headers=headers)


def test_a_signed_participant_left_records_an_abandoned_call(
    client: TestClient, store: RecordStore
) -> None:
    body = caller_left_event()
    response = post(client, body, signed(body))
    assert response.status_code == 200, response.text
    assert response.json() == {"event": "participant_left", "result": "created"}
    (record,), _ = store.list(CallFilter())
    assert record.outcome is CallOutcome.ABANDONED and record.sip_call_id == "SCL_gone"
    assert record.caller_number == "+15551230000" and record.direction is Direction.INBOUND
    assert record.disconnect_reason == "participant left: client_initiated"


@pytest.mark.parametrize("how", ["unsigned", "tampered", "wrong_secret", "wrong_key", "garbage"])
def test_a_webhook_that_does_not_verify_is_refused_and_changes_nothing(
    client: TestClient, store: RecordStore, how: str
) -> None:
    body = caller_left_event()
    headers = signed(body)
    if how == "unsigned":
        headers.pop("Authorization")
    elif how == "tampered":
        body = body.replace("SCL_gone", "SCL_evil")
    elif how == "wrong_secret":
        headers = signed(body, secret="another-secret-that-is-also-32-chars-long")
    elif how == "wrong_key":
        headers = signed(body, key="APIother")
    else:
        headers["Authorization"] = "not.a.jwt"
    response = post(client, body, headers)
    assert response.status_code == 401
    assert store.list(CallFilter())[0] == []


def test_room_finished_closes_what_a_dead_agent_left_open(
    client: TestClient, store: RecordStore, clock: Clock
) -> None:
    record_id = store.open(
        CallStart(Direction.INBOUND, room="room-dead", sip_call_id="SCL_dead"),
        clock(),
        timedelta(minutes=10),
    )
    body = MessageToJson(WebhookEvent(event="room_finished", room=Room(name="room-dead")))
    assert post(client, body, signed(body)).status_code == 200
    assert store.get(record_id).status.value == "in_progress"  # type: ignore[union-attr]
    clock.advance(16)  # past the grace; the next webhook (or the reaper) closes it
    other = MessageToJson(WebhookEvent(event="room_started", room=Room(name="elsewhere")))
    assert post(client, other, signed(other)).json()["result"] == "ignored"
    later = MessageToJson(WebhookEvent(event="room_finished", room=Room(name="elsewhere")))
    post(client, later, signed(later))
    closed = store.get(record_id)
    assert closed is not None and closed.outcome is CallOutcome.WORKER_LOST
    assert closed.closed_by == "lease"


def test_metrics_show_open_records_and_the_call_counters(
    client: TestClient, store: RecordStore, clock: Clock
) -> None:
    store.open(CallStart(Direction.INBOUND, room="live"), clock(), timedelta(seconds=60))
    body = client.get("/metrics", headers=AUTH).text
    assert 'dialtone_call_records_open{direction="inbound"} 1.0' in body
    assert 'dialtone_call_records_open{direction="outbound"} 0.0' in body
    assert 'dialtone_calls_total{direction="inbound",outcome="abandoned"}' in body


def test_the_api_reaper_closes_expired_records_on_its_own(
    engine: Engine,
    store: RecordStore,
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.chdir(tmp_path)
    record_id = store.open(CallStart(Direction.INBOUND, room="z"), clock(), timedelta(seconds=60))
    clock.advance(61)
    app = create_app(
        load_settings(api_token=SecretStr(TOKEN), data_dir=tmp_path / "d"), engine, clock=clock
    )
    with TestClient(app):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the lifespan task runs in the server's thread
            record = store.get(record_id)
            if record is not None and record.outcome is not None:
                break
            time.sleep(0.02)
    record = store.get(record_id)
    assert record is not None and record.outcome is CallOutcome.WORKER_LOST
    assert record.closed_by == "lease"
