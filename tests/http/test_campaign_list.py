"""`GET /v1/campaigns`: every campaign, newest first, a page at a time, by state."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.campaigns.conftest import FakeClock

from .conftest import AUTH, create


def _ids(body: dict[str, Any]) -> list[str]:
    return [c["id"] for c in body["items"]]


def test_lists_newest_first_in_pages_with_an_opaque_cursor(
    client: TestClient, clock: FakeClock
) -> None:
    made = []
    for n in range(5):
        made.append(create(client, name=f"campaign {n}")["id"])
        if n != 2:  # two campaigns share a creation time, across the page boundary
            clock.advance(60)
    # Newest first; the two created at one instant come in a fixed order (by id).
    newest = [*made[:2], *sorted(made[2:4]), made[4]][::-1]
    first = client.get("/v1/campaigns", params={"limit": 2}, headers=AUTH).json()
    assert set(first) == {"items", "next_cursor"}
    assert _ids(first) == newest[:2]
    assert first["items"][0]["name"] == "campaign 4"
    assert first["items"][0]["contacts"]["total"] == 2  # progress, as GET one gives
    seen = _ids(first)
    cursor = first["next_cursor"]
    while cursor is not None:
        page = client.get(
            "/v1/campaigns", params={"limit": 2, "cursor": cursor}, headers=AUTH
        ).json()
        seen += _ids(page)
        cursor = page["next_cursor"]
    assert seen == newest


def test_filters_by_state(client: TestClient) -> None:
    running = create(client, name="running")["id"]
    paused = create(client, name="paused")["id"]
    assert client.post(f"/v1/campaigns/{paused}/pause", headers=AUTH).status_code == 200
    body = client.get("/v1/campaigns", params={"state": "paused"}, headers=AUTH).json()
    assert _ids(body) == [paused] and body["next_cursor"] is None
    states = client.get("/v1/campaigns", params={"state": "active"}, headers=AUTH).json()
    assert running in _ids(states) and paused not in _ids(states)


def test_bad_requests_get_one_clear_line(client: TestClient) -> None:
    bad_state = client.get("/v1/campaigns", params={"state": "sleeping"}, headers=AUTH)
    assert bad_state.status_code == 422
    bad_cursor = client.get("/v1/campaigns", params={"cursor": "nope"}, headers=AUTH)
    assert bad_cursor.status_code == 400 and "cursor" in bad_cursor.json()["detail"]
    assert client.get("/v1/campaigns").status_code == 401
