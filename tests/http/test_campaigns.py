"""Campaign routes: auth, validation with per-row errors, idempotency, CSV in and out."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dialtone.campaigns.models import Outcome
from dialtone.campaigns.store import CampaignStore, ClaimLimits
from dialtone.config import load_settings
from dialtone.db.tables import campaigns, contacts
from dialtone.http.server import create_app
from tests.campaigns.conftest import FakeClock

from .conftest import AUTH, CONTACTS, SPEC, TOKEN, count, create, upload


def test_every_route_needs_a_bearer_token(client: TestClient) -> None:
    routes = [r for r in client.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    operator_routes = [r for r in routes if not r.path.startswith("/v1/attempts/")]
    assert len(operator_routes) >= 11
    for route in operator_routes:
        path = route.path.replace("{campaign_id}", "x").replace("{phone}", "+15550100100")
        for method in route.methods:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                response = client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["www-authenticate"] == "Bearer"
    # the agent's routes take the attempt's callback token, never the operator's
    response = client.post("/v1/attempts/x/dial")
    assert response.status_code == 401


def test_openapi_is_served_to_token_holders(client: TestClient) -> None:
    assert client.get("/openapi.json").status_code == 401
    schema = client.get("/openapi.json", headers=AUTH).json()
    assert (
        "/v1/campaigns" in schema["paths"]
        and "/v1/campaigns/{campaign_id}/results.csv" in schema["paths"]
    )
    assert "CampaignCreate" in schema["components"]["schemas"]
    assert "ContactIn" in schema["components"]["schemas"]


def test_create_and_read_progress(client: TestClient) -> None:
    body = create(client)
    assert body["status"] == "active"
    assert body["contacts"]["total"] == 2 and body["contacts"]["pending"] == 2
    again = client.get(f"/v1/campaigns/{body['id']}", headers=AUTH).json()
    assert again["settings"]["window"]["start"] == "09:00"
    assert client.get("/v1/campaigns/nope", headers=AUTH).status_code == 404


def test_json_row_errors_name_row_and_field_and_create_nothing(
    client: TestClient, engine: Engine
) -> None:
    slot = {"appointment": "Tue 3pm"}
    bad = [
        {"phone": "+15550200001", "variables": slot},
        {"phone": "call me", "variables": slot},
        {"phone": "+19005550100", "variables": slot},
        {"phone": "+15550200004", "timezone": "Nowhere/Special", "variables": slot},
        {"phone": "+15550200001", "variables": slot},
    ]
    response = client.post(
        "/v1/campaigns", json={**SPEC, "caller_id": "x", "contacts": bad}, headers=AUTH
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {
        (None, "caller_id"),
        (2, "phone"),
        (3, "phone"),
        (4, "timezone"),
        (5, "phone"),
    }
    assert count(engine, campaigns) == 0 and count(engine, contacts) == 0


CSV_OK = (
    "phone,name,timezone,appointment,doctor\r\n"
    "+15550200001,Ann,America/New_York,Tue 3pm,Dr Who\r\n"
    '+15550200002,=HYPERLINK("x"),,Wed 9am,\r\n'
)


def test_csv_upload_creates_contacts_with_variables(client: TestClient, engine: Engine) -> None:
    response = upload(client, CSV_OK)
    assert response.status_code == 201, response.text
    campaign_id = response.json()["id"]
    rows = list(CampaignStore(engine).results(campaign_id))
    assert [r.row for r in rows] == [1, 2]  # the Nth contact, as in a JSON list
    assert rows[0].variables == {"appointment": "Tue 3pm", "doctor": "Dr Who"}
    assert rows[1].timezone == "America/New_York"  # the campaign's zone by default


def test_csv_row_errors_count_contacts_from_one(client: TestClient, engine: Engine) -> None:
    """Row N is the Nth line after the header, blank ones included: JSON's numbering."""
    text = (
        "phone,name,appointment\n"
        "+15550200001,Ann,Tue\n"
        "not-a-number,Bob,Wed\n"
        "+15550200003,Cy\n"
        "\n"
        "+442071234567,Di,Thu\n"
        "+15550200001,Ann twice,Fri\n"
    )
    response = upload(client, text)
    assert response.status_code == 422
    errors = [(e["row"], e["field"]) for e in response.json()["errors"]]
    assert errors == [(2, "phone"), (3, "(row)"), (5, "phone"), (6, "phone")]  # file order
    reasons = {e["row"]: e["reason"] for e in response.json()["errors"]}
    assert "allowed country calling codes" in reasons[5]
    assert "already row 1" in reasons[6]
    assert count(engine, campaigns) == 0


def test_a_bad_row_after_thousands_streamed_creates_nothing(
    client: TestClient, engine: Engine
) -> None:
    """Contacts are stored in chunks while the upload streams; a late bad row rolls back all."""
    good = "".join(f"+1555{i:07d},1\n" for i in range(4100))  # more than two insert chunks
    head = "phone,appointment\n"
    response = upload(client, head + good + "+1900555000,1\n" + good[:15])
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(4101, "phone"), (4102, "phone")]
    assert "premium" in errors[0]["reason"] and "already row 1" in errors[1]["reason"]
    assert count(engine, campaigns) == 0 and count(engine, contacts) == 0
    ok = upload(client, head + good)
    assert ok.status_code == 201 and ok.json()["contacts"]["total"] == 4100


def test_csv_without_phone_column(client: TestClient) -> None:
    response = upload(client, "name\nAnn\n")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": None, "field": "phone", "reason": "the header has no phone column"}
    ]


def test_idempotency_key_returns_the_same_campaign(client: TestClient, engine: Engine) -> None:
    body = {**SPEC, "contacts": CONTACTS}
    first = client.post("/v1/campaigns", json=body, headers={**AUTH, "Idempotency-Key": "k1"})
    second = client.post("/v1/campaigns", json=body, headers={**AUTH, "Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert count(engine, campaigns) == 1
    changed = client.post(
        "/v1/campaigns",
        json={**body, "name": "other"},
        headers={**AUTH, "Idempotency-Key": "k1"},
    )
    assert changed.status_code == 422 and "different request" in changed.json()["detail"]
    # the same key through the CSV route is the same request only if the content is
    assert upload(client, CSV_OK, {"Idempotency-Key": "k1"}).status_code == 422
    assert count(engine, campaigns) == 1
    too_long = client.post(
        "/v1/campaigns", json=body, headers={**AUTH, "Idempotency-Key": "k" * 300}
    )
    assert too_long.status_code == 400


def test_pause_resume_cancel(client: TestClient) -> None:
    campaign_id = create(client)["id"]
    url = f"/v1/campaigns/{campaign_id}"
    assert client.post(f"{url}/pause", headers=AUTH).json()["status"] == "paused"
    assert client.post(f"{url}/pause", headers=AUTH).json()["status"] == "paused"  # no-op
    assert client.post(f"{url}/resume", headers=AUTH).json()["status"] == "active"
    cancelled = client.post(f"{url}/cancel", headers=AUTH).json()
    assert cancelled["status"] == "cancelled" and cancelled["contacts"]["cancelled"] == 2
    conflict = client.post(f"{url}/resume", headers=AUTH)
    assert conflict.status_code == 409 and "cancelled" in conflict.json()["detail"]
    assert client.post("/v1/campaigns/nope/pause", headers=AUTH).status_code == 404


def test_calls_and_results_csv(client: TestClient, engine: Engine, clock: FakeClock) -> None:
    campaign_id = upload(client, CSV_OK).json()["id"]
    store = CampaignStore(engine)
    claims = store.claim_due(clock.now, ClaimLimits(calls_per_second=100))
    assert len(claims) == 2
    store.mark_dispatched(claims[0].attempt_id, "AD_1", clock.now)
    report = client.post(
        f"/v1/attempts/{claims[0].attempt_id}/outcome",
        json={"outcome": "completed", "detail": "confirmed"},
        headers={"Authorization": f"Bearer {claims[0].callback_token}"},
    )
    assert report.status_code == 200 and report.json() == {"recorded": True}
    wrong = client.post(
        f"/v1/attempts/{claims[1].attempt_id}/outcome",
        json={"outcome": "completed"},
        headers={"Authorization": f"Bearer {claims[0].callback_token}"},
    )
    assert wrong.status_code == 401
    calls = client.get(f"/v1/campaigns/{campaign_id}/calls", headers=AUTH).json()["items"]
    assert {c["outcome"] for c in calls} == {"completed", None}
    assert {c["room"] for c in calls} == {c.room for c in claims}
    first = client.get(f"/v1/campaigns/{campaign_id}/calls?limit=1", headers=AUTH).json()
    cursor = first["next_cursor"]
    second = client.get(
        f"/v1/campaigns/{campaign_id}/calls", params={"limit": 1, "cursor": cursor}, headers=AUTH
    ).json()  # both attempts share one created_at: the id breaks the tie
    assert [c["id"] for c in first["items"] + second["items"]] == [c["id"] for c in calls]
    assert second["next_cursor"] is None
    response = client.get(f"/v1/campaigns/{campaign_id}/results.csv", headers=AUTH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["phone"] for r in rows] == ["+15550200001", "+15550200002"]
    assert rows[0]["state"] == "completed" and rows[0]["last_outcome"] == Outcome.COMPLETED
    assert rows[0]["appointment"] == "Tue 3pm" and rows[0]["doctor"] == "Dr Who"
    assert rows[1]["name"] == '\'=HYPERLINK("x")'  # not a live formula in a spreadsheet
    assert rows[1]["state"] == "in_flight"


def test_adhoc_call(client: TestClient, engine: Engine) -> None:
    body = {
        "phone": "+15550200009",
        "name": "Eve",
        "timezone": "America/Denver",
        "variables": {"appointment": "today 4pm"},
        "persona": "reminder",
        "outbound_trunk": "ST_trunk1",
        "caller_id": "+15550100100",
    }
    made = client.post("/v1/calls", json=body, headers={**AUTH, "Idempotency-Key": "call-1"})
    assert made.status_code == 201, made.text
    view = made.json()
    assert view["kind"] == "adhoc" and view["contacts"]["total"] == 1
    assert view["settings"]["retry"]["max_attempts"] == 1
    again = client.post("/v1/calls", json=body, headers={**AUTH, "Idempotency-Key": "call-1"})
    assert again.json()["id"] == view["id"]
    premium = client.post("/v1/calls", json={**body, "phone": "+19005550100"}, headers=AUTH)
    assert premium.status_code == 422
    assert (
        premium.json()["errors"][0]["row"] == 1
        and "premium" in premium.json()["errors"][0]["reason"]
    )
    no_zone = client.post(
        "/v1/calls", json={k: v for k, v in body.items() if k != "timezone"}, headers=AUTH
    )
    assert no_zone.status_code == 422
    assert count(engine, campaigns) == 1


def test_request_size_limit(client: TestClient, engine: Engine) -> None:
    big = [{"phone": f"+1555020{i:04d}", "name": "x" * 100} for i in range(1000)]
    response = client.post("/v1/campaigns", json={**SPEC, "contacts": big}, headers=AUTH)
    assert response.status_code == 413
    assert count(engine, campaigns) == 0


def test_api_refuses_to_start_without_a_token(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialtone.config import ConfigError

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIALTONE_API_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="DIALTONE_API_TOKEN"):
        create_app(load_settings(), engine)


@pytest.mark.parametrize("route", ["/v1/campaigns", "/v1/calls"])
@pytest.mark.parametrize(
    ("body", "reason"), [(b"{not json", "not JSON"), (b"[1, 2]", "expected an object")]
)
def test_a_body_that_is_not_a_json_object_creates_nothing(
    client: TestClient, engine: Engine, route: str, body: bytes, reason: str
) -> None:
    response = client.post(
        route, content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "(body)"
    assert reason in response.json()["errors"][0]["reason"]
    assert count(engine, campaigns) == 0
