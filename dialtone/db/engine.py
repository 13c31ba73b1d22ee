"""The one way to open the database: `make_engine(url)`, one engine per URL per process.

Every store (campaigns, webhook outbox, call records, messages) runs over the engine
this returns for `settings.resolved_database_url`, so they all follow the same rules:

SQLite is put in WAL mode so the worker can write while the API reads, and
`synchronous=FULL` so an acknowledged write survives a power cut: a caller was told
their message was passed on, so it must not vanish. pysqlite's own deferred BEGIN lets
two writers both read, then fail to upgrade with "database is locked" and no wait;
taking the write lock at BEGIN (`BEGIN IMMEDIATE`) makes writers queue on the busy
timeout instead. Read-only blocks (`read_only`) still BEGIN deferred, so reads run
beside a writer.

PostgreSQL (`postgresql+psycopg://...`) is used as SQLAlchemy opens it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

BUSY_TIMEOUT_MS = 15_000
READ_ONLY = "dialtone_read_only"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def sqlite_url(data_dir: Path) -> str:
    """The SQLite file under `data_dir` (created if missing)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'dialtone.db'}"


def make_engine(url: str) -> Engine:
    """This process's engine for `url`: every caller shares its pool and its rules."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = new_engine(url)
            _engines[url] = engine
        return engine


def new_engine(url: str) -> Engine:
    """An engine with its own pool (what another process would have); most callers want
    `make_engine`. Raises `sqlalchemy.exc.ArgumentError` for a URL it cannot parse."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A transaction that only reads: on SQLite it does not take the write lock."""
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        with conn.begin():
            yield conn
