"""Reminder fixtures: the campaign store (SQLite and PostgreSQL), its API, the double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from livekit.api import LiveKitAPI
from pydantic import SecretStr
from sqlalchemy import Engine

from dialtone.config import load_settings
from dialtone.http.server import create_app
from tests.campaigns.conftest import FakeClock, backend, clock, db_url, engine, store  # noqa: F401
from tests.livekit_double import LiveKitDouble

from .harness import TOKEN

PERSONAS = Path(__file__).resolve().parents[2] / "personas"


@pytest_asyncio.fixture
async def api(
    engine: Engine,  # noqa: F811 (the fixture imported above)
    clock: FakeClock,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    """The campaign API in-process (no scheduler), reached over ASGI by httpx."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        api_token=SecretStr(TOKEN),
        data_dir=tmp_path / "data",
        persona_dir=PERSONAS,
    )
    app = create_app(settings, engine, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


@pytest_asyncio.fixture
async def lk(livekit_double: LiveKitDouble) -> AsyncIterator[LiveKitAPI]:
    api = LiveKitAPI(livekit_double.url, livekit_double.api_key, livekit_double.api_secret)
    try:
        yield api
    finally:
        await api.aclose()
