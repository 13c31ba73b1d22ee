"""Refused at creation what would fail on every call, and refusals of bounded size.

A campaign naming an unknown persona or trunk, or contacts missing a variable the
persona's reminder says, used to be accepted and fail call by call; a file of garbage
came back as a reply larger than the upload.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dialtone.db.tables import campaigns

from .conftest import AUTH, CONTACTS, SPEC, count, upload


def errors_of(response: Any) -> set[tuple[int | None, str]]:
    return {(e["row"], e["field"]) for e in response.json()["errors"]}


def test_an_unknown_persona_is_refused_naming_the_field(client: TestClient, engine: Engine) -> None:
    body = {**SPEC, "persona": "nobody", "contacts": CONTACTS}
    response = client.post("/v1/campaigns", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert errors_of(response) == {(None, "persona")}
    assert "DIALTONE_PERSONA_DIR" in response.json()["errors"][0]["reason"]
    assert count(engine, campaigns) == 0


def test_an_outbound_trunk_that_is_neither_an_id_nor_a_declared_name_is_refused(
    client: TestClient, engine: Engine
) -> None:
    body = {**SPEC, "outbound_trunk": "carrier-typo", "contacts": CONTACTS}
    response = client.post("/v1/campaigns", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert errors_of(response) == {(None, "outbound_trunk")}
    reason = response.json()["errors"][0]["reason"]
    assert "ST_" in reason and "carrier-outbound" in reason  # the rule and what is known
    assert count(engine, campaigns) == 0


def test_a_trunk_declared_in_the_trunk_files_or_a_livekit_id_is_accepted(
    client: TestClient,
) -> None:
    for trunk in ("carrier-outbound", "ST_anything"):  # trunks/carrier.yaml declares the first
        body = {**SPEC, "outbound_trunk": trunk, "contacts": CONTACTS}
        response = client.post("/v1/campaigns", json=body, headers=AUTH)
        assert response.status_code == 201, response.text


def test_contacts_missing_a_template_variable_are_refused_per_row(
    client: TestClient, engine: Engine
) -> None:
    """personas/reminder.yaml says {appointment}: a contact without it is never called."""
    contacts = [
        {"phone": "+15550200001", "variables": {"appointment": "Tue"}},
        {"phone": "+15550200002", "name": "Bob"},
        {"phone": "+15550200003", "variables": {"doctor": "Dr Who"}},
    ]
    response = client.post("/v1/campaigns", json={**SPEC, "contacts": contacts}, headers=AUTH)
    assert response.status_code == 422, response.text
    assert errors_of(response) == {(2, "variables.appointment"), (3, "variables.appointment")}
    assert "{appointment}" in response.json()["errors"][0]["reason"]
    csv_text = "phone,name,appointment\n+15550200001,Ann,Tue\n+15550200002,Bob,\n"
    refused = upload(client, csv_text)
    assert refused.status_code == 422 and errors_of(refused) == {(2, "variables.appointment")}
    call = {
        "phone": "+15550200009",
        "timezone": "America/Denver",
        **{k: SPEC[k] for k in ("persona", "outbound_trunk", "caller_id")},
    }
    adhoc = client.post("/v1/calls", json=call, headers=AUTH)
    assert adhoc.status_code == 422 and errors_of(adhoc) == {(1, "variables.appointment")}
    assert count(engine, campaigns) == 0


# --- bounded refusals -----------------------------------------------------------------


def test_a_file_of_garbage_lists_100_problems_and_counts_the_rest(
    client: TestClient, engine: Engine
) -> None:
    garbage = "phone,appointment\n" + "x" * 1000 + ",1\n" + "not-a-number,1\n" * 3000
    response = upload(client, garbage)
    assert response.status_code == 422
    body = response.json()
    assert len(body["errors"]) == 100 and body["more_errors"] == 2901
    assert "3001 problem(s)" in body["detail"]
    assert [e["row"] for e in body["errors"][:3]] == [1, 2, 3]
    assert all(len(e["reason"]) <= 300 for e in body["errors"])  # the 1000-char cell is cut
    assert len(response.content) < len(garbage) / 2
    assert count(engine, campaigns) == 0


def test_rows_with_the_wrong_number_of_fields_are_bounded_too(client: TestClient) -> None:
    """The file's own problems (not the contacts') go through the same bound."""
    garbage = "phone,appointment\n" + "a,b,c\n" * 2000
    response = upload(client, garbage)
    body = response.json()
    assert len(body["errors"]) == 100 and body["more_errors"] == 1900


def test_json_contacts_are_bounded_the_same_way(client: TestClient) -> None:
    contacts = [{"phone": "bad"} for _ in range(250)]
    response = client.post("/v1/campaigns", json={**SPEC, "contacts": contacts}, headers=AUTH)
    body = response.json()
    assert len(body["errors"]) == 100 and body["more_errors"] == 150
    assert body["errors"][0]["row"] == 1


def test_a_small_refusal_has_no_more_errors(client: TestClient) -> None:
    body = {**SPEC, "contacts": [{"phone": "bad", "variables": {"appointment": "x"}}]}
    response = client.post("/v1/campaigns", json=body, headers=AUTH)
    assert "more_errors" not in response.json()


# --- one list envelope ----------------------------------------------------------------


def test_every_list_route_answers_items_and_next_cursor(client: TestClient) -> None:
    made = client.post("/v1/campaigns", json={**SPEC, "contacts": CONTACTS}, headers=AUTH).json()
    phones = [f"+1555030{i:04d}" for i in range(5)]
    client.post("/v1/dnc", json={"phones": phones}, headers=AUTH)
    for path in ("/v1/dnc", f"/v1/campaigns/{made['id']}/calls", "/v1/calls", "/v1/messages"):
        body = client.get(path, headers=AUTH).json()
        assert set(body) == {"items", "next_cursor"}, (path, body)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = client.get("/v1/dnc", params=params, headers=AUTH).json()
        seen += [e["phone"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == sorted(phones)
