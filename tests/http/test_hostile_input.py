"""Hostile bodies, paths and digits: a bad request is a 4xx naming what to fix, never a 5xx.

Every test runs on SQLite and PostgreSQL (the `client` fixture): PostgreSQL refuses NUL
characters in text and numbers beyond 64 bits, so a check that SQLite lets slide
would surface there as a 500.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dialtone.db.tables import campaigns

from .conftest import AUTH, CONTACTS, SPEC, count, create, upload

HUGE_INT = "9" * 5000  # beyond Python's 4300-digit int-string limit
DEEP = "[" * 10_000 + "]" * 10_000


def fields(response: Any) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


def post_json(client: TestClient, path: str, text: str) -> Any:
    return client.post(
        path, content=text.encode(), headers={**AUTH, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize("path", ["/v1/campaigns", "/v1/calls", "/v1/dnc"])
def test_an_integer_beyond_the_int_string_limit_is_a_422(
    client: TestClient, engine: Engine, path: str
) -> None:
    response = post_json(client, path, '{"max_concurrent": ' + HUGE_INT + "}")
    assert response.status_code == 422, response.text
    assert fields(response) == {"(body)"}
    assert "digits" in response.json()["errors"][0]["reason"]
    assert count(engine, campaigns) == 0


@pytest.mark.parametrize("path", ["/v1/campaigns", "/v1/calls", "/v1/dnc"])
def test_deeply_nested_json_is_a_422(client: TestClient, path: str) -> None:
    response = post_json(client, path, '{"contacts": ' + DEEP + "}")
    assert response.status_code == 422, response.text
    assert fields(response) == {"(body)"}
    assert "nested" in response.json()["errors"][0]["reason"]


def test_moderately_deep_json_is_refused_too(client: TestClient) -> None:
    """Under the interpreter's recursion limit, but deeper than any campaign needs."""
    deep = "[" * 200 + "]" * 200
    response = post_json(client, "/v1/campaigns", '{"name": ' + deep + "}")
    assert response.status_code == 422 and fields(response) == {"(body)"}


@pytest.mark.parametrize("secret", [12345678901234567890, {"a": "b"}, ["x" * 20], True])
def test_a_webhook_secret_that_is_not_a_string_is_a_422(
    client: TestClient, engine: Engine, secret: Any
) -> None:
    body = {
        **SPEC,
        "contacts": CONTACTS,
        "webhook_url": "https://clinic.example/hook",
        "webhook_secret": secret,
    }
    response = client.post("/v1/campaigns", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert fields(response) == {"webhook_secret"}
    assert count(engine, campaigns) == 0


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("name", "Flu\x00shots"),
        ("outbound_trunk", "ST_\x00"),
        ("contacts.0.name", "Ann\x00"),
        ("contacts.0.variables", "Tue\x003pm"),
        ("webhook_url", "https://clinic.example/\x00"),
    ],
)
def test_nul_in_a_campaign_string_names_the_field(
    client: TestClient, engine: Engine, where: str, value: str
) -> None:
    body: dict[str, Any] = {**SPEC, "contacts": [dict(c) for c in CONTACTS]}
    body["contacts"][0] = {**CONTACTS[0], "variables": dict(CONTACTS[0]["variables"])}
    if where == "webhook_url":
        body["webhook_secret"] = "s" * 20
    target: Any = body
    *parents, last = where.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if last == "variables":
        target = target[last]
        last = "appointment"
    target[last] = value
    response = client.post("/v1/campaigns", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    row = 1 if where.startswith("contacts") else None
    expected = where.removeprefix("contacts.0.")
    assert (row, expected) in {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert count(engine, campaigns) == 0


def test_nul_in_a_csv_cell_names_row_and_field(client: TestClient, engine: Engine) -> None:
    text = "phone,name,appointment\n+15550200001,Ann\x00,Tue\n"
    response = upload(client, text)
    assert response.status_code == 422, response.text
    assert {(e["row"], e["field"]) for e in response.json()["errors"]} == {(1, "name")}
    assert count(engine, campaigns) == 0


def test_nul_in_dnc_reason_and_outcome_detail(client: TestClient) -> None:
    response = client.post(
        "/v1/dnc", json={"phones": ["+15550200001"], "reason": "by\x00phone"}, headers=AUTH
    )
    assert response.status_code == 422 and fields(response) == {"reason"}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/campaigns/a%00b",
        "/v1/campaigns/a%00b/calls",
        "/v1/campaigns/a%00b/results.csv",
        "/v1/calls/a%00b",
        "/v1/messages/a%00b",
        "/v1/dnc/%2B1555%00",
        "/v1/calls?cursor=a%00b",
        "/v1/messages?cursor=a%00b",
    ],
)
def test_nul_in_a_path_or_query_parameter_is_a_4xx(client: TestClient, path: str) -> None:
    create(client)
    response = client.get(path, headers=AUTH)
    assert response.status_code in (400, 404, 422), (path, response.text)


@pytest.mark.parametrize("action", ["pause", "resume", "cancel"])
def test_nul_in_a_campaign_id_on_actions(client: TestClient, action: str) -> None:
    response = client.post(f"/v1/campaigns/x%00y/{action}", headers=AUTH)
    assert response.status_code in (404, 422), response.text


def test_nul_in_an_attempt_id(client: TestClient) -> None:
    headers = {"Authorization": "Bearer some-callback-token"}
    for route in ("dial", "outcome"):
        body = {"outcome": "completed"} if route == "outcome" else None
        response = client.post(f"/v1/attempts/a%00b/{route}", json=body, headers=headers)
        assert response.status_code in (401, 404, 422), response.text


def _position(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        "limit=" + "9" * 30,
        "limit=0",
        "cursor=" + _position("p" + "9" * 30),  # a position past any database's integers
        "cursor=" + _position("p-1"),
        "cursor=" + _position("p\x00"),
        "cursor=not-a-cursor",
        "cursor=%00",
    ],
)
@pytest.mark.parametrize("path", ["/v1/dnc", "/v1/campaigns/{id}/calls", "/v1/calls"])
def test_paging_out_of_range_is_a_4xx_naming_the_parameter(
    client: TestClient, path: str, query: str
) -> None:
    campaign_id = create(client)["id"]
    response = client.get(f"{path.format(id=campaign_id)}?{query}", headers=AUTH)
    assert response.status_code in (400, 422), response.text
    assert query.split("=")[0] in response.text


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1" + "0" * 30])
def test_a_variable_that_no_database_can_store_is_a_422(
    client: TestClient, engine: Engine, value: str
) -> None:
    text = (
        '{"name": "n", "persona": "reminder", "outbound_trunk": "ST_t", '
        '"caller_id": "+15550100100", "contacts": [{"phone": "+15550200001", '
        '"variables": {"appointment": "Tue", "n": ' + value + "}}]}"
    )
    response = post_json(client, "/v1/campaigns", text)
    assert response.status_code == 422, response.text
    assert count(engine, campaigns) == 0


# --- the toll-fraud guard reads the normalised number ---------------------------------

FULLWIDTH = str.maketrans("+0123456789", "＋０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("script", [FULLWIDTH, ARABIC_INDIC], ids=["fullwidth", "arabic-indic"])
@pytest.mark.parametrize(
    ("number", "because"),
    [
        ("+19005550100", "premium"),  # US premium-rate
        ("+18765550100", "NANP area code 876"),  # Jamaica, billed internationally
        ("+442071234567", "allowed country calling codes"),  # not in the default "1"
        ("+881612345678", "premium"),  # satellite, refused by prefix before the code check
    ],
)
def test_the_toll_fraud_guard_sees_through_other_digits(
    client: TestClient, engine: Engine, script: dict[int, str], number: str, because: str
) -> None:
    typed = number.translate(script)
    contacts = [{"phone": typed, "variables": {"appointment": "Tue"}}]
    response = client.post("/v1/campaigns", json={**SPEC, "contacts": contacts}, headers=AUTH)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["row"], error["field"]) == (1, "phone")
    assert because in error["reason"] or "satellite" in error["reason"], error["reason"]
    call = {
        "phone": typed,
        "timezone": "America/New_York",
        "variables": {"appointment": "Tue"},
        **{k: SPEC[k] for k in ("persona", "outbound_trunk", "caller_id")},
    }
    adhoc = client.post("/v1/calls", json=call, headers=AUTH)
    assert adhoc.status_code == 422 and fields(adhoc) == {"phone"}
    assert count(engine, campaigns) == 0
