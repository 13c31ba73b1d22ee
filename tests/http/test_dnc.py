"""The do-not-call routes: add, read, list, remove; bad numbers named by row."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import AUTH, SPEC, create


def test_dnc_routes(client: TestClient) -> None:
    campaign_id = create(client)["id"]
    added = client.post(
        "/v1/dnc", json={"phones": ["+1 555 020 0001", "+15550300000"]}, headers=AUTH
    )
    assert added.json() == {"added": 2, "already_listed": 0}
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=AUTH).json()["contacts"]["dnc"] == 1
    assert client.get("/v1/dnc/+15550200001", headers=AUTH).status_code == 200
    assert [e["phone"] for e in client.get("/v1/dnc", headers=AUTH).json()["items"]] == [
        "+15550200001",
        "+15550300000",
    ]
    bad = client.post("/v1/dnc", json={"phones": ["+15550300001", "nope"]}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["errors"][0]["row"] == 2
    assert client.delete("/v1/dnc/+15550300000", headers=AUTH).status_code == 204
    assert client.get("/v1/dnc/+15550300000", headers=AUTH).status_code == 404


FULLWIDTH = str.maketrans("+0123456789", "＋０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("script", [FULLWIDTH, ARABIC_INDIC], ids=["fullwidth", "arabic-indic"])
def test_a_dnc_number_in_other_digits_is_the_same_number(
    client: TestClient, script: dict[int, str]
) -> None:
    """However either side wrote the digits, a DNC-listed contact is never called."""
    listed = client.post(
        "/v1/dnc", json={"phones": ["+15550200001".translate(script)]}, headers=AUTH
    )
    assert listed.json() == {"added": 1, "already_listed": 0}
    assert client.get("/v1/dnc/+15550200001", headers=AUTH).status_code == 200
    campaign_id = create(client)["id"]  # Ann is +15550200001, in ASCII digits
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=AUTH).json()["contacts"]["dnc"] == 1

    # and the other way round: an ASCII DNC entry blocks a contact typed in other digits
    client.post("/v1/dnc", json={"phones": ["+15550200002"]}, headers=AUTH)
    typed = [
        {
            "phone": "+1 555 020 0002".translate(script),
            "name": "Bob",
            "variables": {"appointment": "Wed"},
        }
    ]
    other = client.post("/v1/campaigns", json={**SPEC, "contacts": typed}, headers=AUTH)
    assert other.status_code == 201, other.text
    assert other.json()["contacts"]["dnc"] == 1
    assert (
        client.get(f"/v1/dnc/{'+15550200002'.translate(script)}", headers=AUTH).status_code == 200
    )


def test_paging_the_list_while_entries_are_removed_skips_none(client: TestClient) -> None:
    """A CRM mirroring the do-not-call list pages through it while an operator removes a
    number: every number still listed must reach it (a position cursor skipped one)."""
    phones = [f"+1555030000{i}" for i in range(6)]
    client.post("/v1/dnc", json={"phones": phones}, headers=AUTH)
    first = client.get("/v1/dnc", params={"limit": 2}, headers=AUTH).json()
    assert [e["phone"] for e in first["items"]] == phones[:2]
    assert client.delete(f"/v1/dnc/{phones[0]}", headers=AUTH).status_code == 204
    seen = [e["phone"] for e in first["items"]]
    cursor = first["next_cursor"]
    while cursor is not None:
        page = client.get("/v1/dnc", params={"limit": 2, "cursor": cursor}, headers=AUTH).json()
        seen += [e["phone"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert seen == phones
