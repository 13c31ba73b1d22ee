"""Engine creation: one SQLite file under the data directory, or a database URL.

SQLite is put in WAL mode so the worker can write a message while the API reads, and
`synchronous=FULL` so an acknowledged write survives a power cut: a caller was told
their message was passed on, so it must not vanish.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event

metadata = MetaData()


def sqlite_url(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'dialtone.db'}"


def make_engine(url: str) -> Engine:
    """Create the engine and the tables it lacks."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    metadata.create_all(engine)
    return engine
