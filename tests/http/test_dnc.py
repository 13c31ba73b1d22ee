"""The do-not-call routes: add, read, list, remove; bad numbers named by row."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import AUTH, create


def test_dnc_routes(client: TestClient) -> None:
    campaign_id = create(client)["id"]
    added = client.post(
        "/v1/dnc", json={"phones": ["+1 555 020 0001", "+15550300000"]}, headers=AUTH
    )
    assert added.json() == {"added": 2, "already_listed": 0}
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=AUTH).json()["contacts"]["dnc"] == 1
    assert client.get("/v1/dnc/+15550200001", headers=AUTH).status_code == 200
    assert [e["phone"] for e in client.get("/v1/dnc", headers=AUTH).json()] == [
        "+15550200001",
        "+15550300000",
    ]
    bad = client.post("/v1/dnc", json={"phones": ["+15550300001", "nope"]}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["errors"][0]["row"] == 2
    assert client.delete("/v1/dnc/+15550300000", headers=AUTH).status_code == 204
    assert client.get("/v1/dnc/+15550300000", headers=AUTH).status_code == 404
