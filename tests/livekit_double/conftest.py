"""Fixtures for the double's own tests: a real LiveKitAPI client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from livekit import api

from .double import LiveKitDouble


@pytest.fixture
async def lk(livekit_double: LiveKitDouble) -> AsyncIterator[api.LiveKitAPI]:
    """The unmodified client, configured from the env vars the fixture set."""
    client = api.LiveKitAPI()
    try:
        yield client
    finally:
        await client.aclose()
