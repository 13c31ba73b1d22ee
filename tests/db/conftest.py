"""Databases written by the release before Alembic, loaded from the SQL in fixtures/."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

FIXTURES = Path(__file__).with_name("fixtures")


def load_sqlite(sql_file: str, db_file: Path) -> str:
    """Replay a `sqlite3 .dump` into a new file; returns its SQLAlchemy URL."""
    db_file.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_file)
    conn.executescript((FIXTURES / sql_file).read_text())
    conn.close()
    return f"sqlite:///{db_file}"


def load_postgresql(sql_file: str, url: str) -> str:
    """Replay a `pg_dump --inserts` into the (empty) database at `url`."""
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.query["host"],
        port=parsed.query["port"],
        user=parsed.username,
        dbname=parsed.database,
        autocommit=True,
    ) as conn:
        conn.execute((FIXTURES / sql_file).read_text().encode())
    return url
