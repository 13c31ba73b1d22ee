"""`GET /v1/messages` and `GET /v1/messages/{id}`: what callers left with the receptionist."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from dialtone.db.tables import messages
from dialtone.db.upgrade import ensure_upgraded
from dialtone.messages.store import MessageStore

from .conftest import AUTH

T0 = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def receptionist(engine: Engine) -> MessageStore:
    """The store the receptionist writes to: the one database the API reads."""
    ensure_upgraded(engine)
    return MessageStore(engine)


def leave(receptionist: MessageStore, message_id: str, at: datetime, text: str) -> None:
    """A message at a chosen time (the store's `add` stamps the current time)."""
    with receptionist._engine.begin() as conn:
        conn.execute(
            insert(messages).values(
                id=message_id,
                created_at=at,
                persona="receptionist",
                caller_number="+15551230000",
                call_id=None,
                room=f"room-{message_id}",
                message=text,
            )
        )


def test_the_message_routes_need_the_bearer_token(
    client: TestClient, receptionist: MessageStore
) -> None:
    stored = asyncio.run(
        receptionist.add(
            persona="receptionist",
            message="Please call me back",
            caller_number=None,
            call_id=None,
            room=None,
        )
    )
    for path in ("/v1/messages", f"/v1/messages/{stored.id}"):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["www-authenticate"] == "Bearer"
        assert client.get(path, headers=AUTH).status_code == 200


def test_pages_newest_first_with_an_opaque_cursor(
    client: TestClient, receptionist: MessageStore
) -> None:
    # m2 and m3 share a timestamp and fall either side of the page boundary.
    times = {
        "m1": T0,
        "m2": T0 + timedelta(minutes=1),
        "m3": T0 + timedelta(minutes=1),
        "m4": T0 + timedelta(minutes=2),
        "m5": T0 + timedelta(minutes=3),
    }
    for message_id, at in times.items():
        leave(receptionist, message_id, at, f"message {message_id}")
    first = client.get("/v1/messages", params={"limit": 3}, headers=AUTH).json()
    assert [m["id"] for m in first["items"]] == ["m5", "m4", "m3"]
    assert isinstance(first["next_cursor"], str)
    second: dict[str, Any] = client.get(
        "/v1/messages", params={"limit": 3, "cursor": first["next_cursor"]}, headers=AUTH
    ).json()
    assert [m["id"] for m in second["items"]] == ["m2", "m1"]
    assert second["next_cursor"] is None
    assert second["items"][1]["message"] == "message m1"
    assert datetime.fromisoformat(second["items"][1]["created_at"]) == T0


def test_a_cursor_the_api_did_not_hand_out_is_refused(client: TestClient) -> None:
    response = client.get("/v1/messages", params={"cursor": "xyz"}, headers=AUTH)
    assert response.status_code == 400 and "cursor" in response.json()["detail"]


def test_one_message_and_a_missing_one(client: TestClient, receptionist: MessageStore) -> None:
    leave(receptionist, "m-here", T0, "The boiler is leaking")
    body = client.get("/v1/messages/m-here", headers=AUTH).json()
    assert body["message"] == "The boiler is leaking" and body["room"] == "room-m-here"
    missing = client.get("/v1/messages/m-gone", headers=AUTH)
    assert missing.status_code == 404 and "m-gone" in missing.json()["detail"]
