"""HTTP server fixtures: the campaign store on SQLite and PostgreSQL, a client, helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from dialtone.config import Settings, load_settings
from dialtone.http.server import create_app
from tests.campaigns.conftest import FakeClock, backend, clock, db_url, engine  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789abcdef"
#: LiveKit's key and secret, with which the webhook route checks signatures
LK_KEY = "APIkey123"
LK_SECRET = "a-livekit-secret-at-least-32-characters-long"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

SPEC: dict[str, Any] = {
    "name": "Flu shots",
    "persona": "reminder",
    "outbound_trunk": "ST_trunk1",
    "caller_id": "+15550100100",
    "timezone": "America/New_York",
    "window": {"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
    "max_concurrent": 2,
}
CONTACTS = [
    {"phone": "+15550200001", "name": "Ann", "variables": {"appointment": "Tue 3pm"}},
    {
        "phone": "+1 (555) 020-0002",
        "name": "Bob",
        "timezone": "America/Chicago",
        "variables": {"appointment": "Wed 9am"},
    },
]


@pytest.fixture
def client(
    engine: Engine,  # noqa: F811 (the fixture imported above)
    clock: FakeClock,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    settings = api_settings(
        tmp_path, livekit_api_key=LK_KEY, livekit_api_secret=SecretStr(LK_SECRET)
    )
    app = create_app(settings, engine, clock=clock, max_body_bytes=64 * 1024)
    with TestClient(app) as c:
        yield c


def api_settings(tmp_path: Path, **extra: Any) -> Settings:
    """The API's settings in a test: the repository's personas and trunk files."""
    return load_settings(
        api_token=SecretStr(TOKEN),
        data_dir=tmp_path / "data",
        persona_dir=REPO / "personas",
        trunks_dir=REPO / "trunks",
        **extra,
    )


def upload(client: TestClient, text: str, headers: dict[str, str] | None = None) -> Any:
    """`SPEC` with `text` as its contacts CSV file."""
    return client.post(
        "/v1/campaigns",
        data={"campaign": json.dumps(SPEC)},
        files={"contacts": ("patients.csv", text.encode(), "text/csv")},
        headers={**AUTH, **(headers or {})},
    )


def count(db: Engine, table: Any) -> int:
    """Rows in `table`: what a refused request must leave unchanged."""
    with db.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def create(client: TestClient, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/campaigns", json={**SPEC, "contacts": CONTACTS, **extra}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
