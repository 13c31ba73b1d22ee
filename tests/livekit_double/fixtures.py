"""pytest fixture: a fresh LiveKit double per test, with the LIVEKIT_* env vars set.

Function scope so no test sees another's trunks, records or faults; starting the
server costs a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .double import LiveKitDouble


@pytest.fixture
def livekit_double(monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveKitDouble]:
    """A started `LiveKitDouble`; LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET point at it."""
    with LiveKitDouble() as double:
        monkeypatch.setenv("LIVEKIT_URL", double.url)
        monkeypatch.setenv("LIVEKIT_API_KEY", double.api_key)
        monkeypatch.setenv("LIVEKIT_API_SECRET", double.api_secret)
        monkeypatch.delenv("LIVEKIT_TOKEN", raising=False)
        yield double
