"""A fresh database at the current schema, on SQLite and on PostgreSQL (tests/postgres.py),
and a clock that moves only when told."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from dialtone.db.engine import new_engine
from dialtone.db.upgrade import upgrade


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'accounts.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    made = new_engine(url)
    upgrade(made)
    yield made
    made.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


#: argon2id at its lowest cost: the same code path, cheap enough for tests on a busy box.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
