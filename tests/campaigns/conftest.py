"""Campaign fixtures: a migrated store on SQLite and on PostgreSQL, a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from dialtone.campaigns.models import CampaignSettings, ContactIn
from dialtone.campaigns.policy import CallingRules
from dialtone.campaigns.store import CampaignStore
from dialtone.db.engine import new_engine, sqlite_url
from dialtone.db.upgrade import upgrade

# A Wednesday, 15:00 UTC = 11:00 in New York (EDT), inside a 09:00-20:00 window.
T0 = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """The scheduler's clock and sleep: time moves only when a test (or a sleep) says so."""

    now: datetime = T0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **kw: float) -> datetime:
        self.now += timedelta(seconds=seconds, **kw)
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds > 0:
            self.now += timedelta(seconds=seconds)


#: Rules under which only the campaign's window limits the hours: no region entries, a
#: floor of 00:00-23:59 and no per-number caps. For tests of the window's own arithmetic
#: (midnight, DST gaps) at hours the shipped legal floor never allows.
WINDOW_ONLY_RULES = CallingRules.model_validate(
    {
        "default_hours": [{"start": "00:00", "end": "23:59"}],
        "per_number": {"per_day": 100, "per_week": 700, "min_gap_minutes": 0},
    }
)

BACKENDS = ["sqlite", "postgresql"]


def backend_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A fresh, empty campaign database on `backend` (PostgreSQL: tests/postgres.py)."""
    if backend == "sqlite":
        return sqlite_url(tmp_path / "data")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every store-backed test runs on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    return backend_url(request, backend, tmp_path)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = new_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def store(engine: Engine) -> CampaignStore:
    return CampaignStore(engine)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def settings(**overrides: Any) -> CampaignSettings:
    base: dict[str, Any] = {
        "name": "Flu shots",
        "persona": "reminder",
        "outbound_trunk": "ST_trunk1",
        "caller_id": "+15550100100",
        "timezone": "America/New_York",
        "window": {
            "start": "09:00",
            "end": "20:00",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        },
        "max_concurrent": 5,
    }
    base.update(overrides)
    return CampaignSettings.model_validate(base)


def people(n: int, *, zone: str | None = None, start: int = 0) -> list[tuple[int, ContactIn]]:
    return [
        (
            i + 1,
            ContactIn(
                phone=f"+1555020{start + i:04d}",
                name=f"Patient {i}",
                timezone=zone,
                variables={"appointment": f"slot {i}"},
            ),
        )
        for i in range(n)
    ]


def new_campaign(
    store: CampaignStore, now: datetime, n: int = 3, zone: str | None = None, **overrides: Any
) -> str:
    campaign_id, _ = store.create_campaign(settings(**overrides), people(n, zone=zone), now)
    return campaign_id
