"""Bring a database to the current schema: `upgrade(engine)`, safe to run at every start.

The history is Alembic's (`migrations/versions/`), configured here in code so nothing
outside the package is needed at run time. Everything runs in ONE transaction: on
PostgreSQL it first takes an advisory transaction lock, so replicas starting together
run one after the other (the later ones find the schema current and do nothing); on
SQLite the transaction begins IMMEDIATE, which serialises writers already.

A database written before Alembic (a `schema_version` table at version 1-3, or a
worker's data-dir file holding only `messages`) has no `alembic_version` row. It is
adopted in place: what it lacks is created (tables, indexes, the claim lock row), no
row is touched, and it is stamped at the baseline revision, whose schema it now has.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, insert, inspect, select, text

from .tables import claim_lock, metadata

BASELINE = "0001"  # the schema of the last release before Alembic
LEGACY_LATEST = 3  # its `schema_version`
_PG_LOCK_KEY = 0x6469616C  # "dial"
_MIGRATIONS = Path(__file__).with_name("migrations")

_upgraded: set[int] = set()
_upgraded_lock = threading.Lock()


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer dialtone than this one."""


@dataclass(frozen=True)
class Upgraded:
    """What `upgrade` found and did."""

    before: str | None  # the revision found; None for a fresh or pre-Alembic database
    head: str
    adopted: bool  # a pre-Alembic database was stamped in place


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config(None)).get_current_head()
    assert head is not None, "the package ships no migration"
    return head


def upgrade(engine: Engine) -> Upgraded:
    """Create or migrate every table; idempotent, and safe for replicas starting at once."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = MigrationContext.configure(conn).get_current_revision()
        config = _config(conn)
        adopted = False
        if before is None and _is_legacy(conn):
            _adopt(conn)
            command.stamp(config, BASELINE)
            adopted = True
        elif before is not None and before not in _known_revisions(config):
            raise SchemaTooNew(
                f"the database is at schema revision {before}, unknown to this dialtone "
                "(it was upgraded by a newer release); upgrade dialtone"
            )
        command.upgrade(config, "head")
    with _upgraded_lock:
        _upgraded.add(id(engine))
    return Upgraded(before=before, head=head_revision(), adopted=adopted)


def ensure_upgraded(engine: Engine) -> None:
    """`upgrade` once per engine in this process (a store's first write)."""
    with _upgraded_lock:
        if id(engine) in _upgraded:
            return
    upgrade(engine)


def _config(conn: Connection | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def _known_revisions(config: Config) -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}


def _is_legacy(conn: Connection) -> bool:
    existing = set(inspect(conn).get_table_names())
    if "schema_version" in existing:
        version = conn.scalar(text("SELECT MAX(version) FROM schema_version")) or 0
        if version > LEGACY_LATEST:
            raise SchemaTooNew(
                f"the database is at campaign schema version {version}, newer than this "
                f"dialtone knows ({LEGACY_LATEST}); upgrade dialtone"
            )
    return bool(existing & set(metadata.tables))


def _adopt(conn: Connection) -> None:
    """Create only what is missing; the rows already there are never touched."""
    existing = set(inspect(conn).get_table_names())
    metadata.create_all(conn, checkfirst=True)
    for name in existing & set(metadata.tables):
        columns = {c["name"] for c in inspect(conn).get_columns(name)}
        for index in metadata.tables[name].indexes:
            # An index on a column a later revision adds is that revision's to create.
            if {c.name for c in index.columns} <= columns:
                index.create(conn, checkfirst=True)
    if conn.scalar(select(claim_lock.c.name).where(claim_lock.c.name == "claims")) is None:
        conn.execute(insert(claim_lock).values(name="claims", seq=0))
