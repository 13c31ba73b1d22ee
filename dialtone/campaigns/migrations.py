"""Schema migrations for the campaign store: a `schema_version` table and ordered steps.

Why not Alembic: the schema is a handful of Core tables, and Alembic would add an
`env.py`, an ini file and a second way to describe the same tables. A short, explicit
list of steps is easier to review and runs the same on SQLite and PostgreSQL.

Rules for a step:
- it runs inside the one migration transaction (PostgreSQL and SQLite both have
  transactional DDL here; SQLite transactions in this store begin IMMEDIATE), and the
  version row is written in that same transaction, so a crash leaves either the old or
  the new schema, never half;
- it is idempotent: it inspects before it alters (step 1 creates what is missing only),
  because a fresh database gets the tables from step 1's *current* definitions and then
  still runs every later step;
- several replicas may start at once: on PostgreSQL an advisory transaction lock
  serialises them; on SQLite the IMMEDIATE transaction does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, Engine, Integer, String, Table, insert, select, text

from ..db.engine import metadata
from .dbtypes import UTCDateTime
from .outbox import OUTBOX_TABLES
from .store import CAMPAIGN_TABLES, claim_lock, contacts

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

_PG_LOCK_KEY = 0x6469616C  # "dial"


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1_campaign_tables(conn: Connection) -> None:
    metadata.create_all(conn, tables=list(CAMPAIGN_TABLES), checkfirst=True)
    if conn.scalar(select(claim_lock.c.name).where(claim_lock.c.name == "claims")) is None:
        conn.execute(insert(claim_lock).values(name="claims", seq=0))


def _v2_webhook_outbox(conn: Connection) -> None:
    metadata.create_all(conn, tables=list(OUTBOX_TABLES), checkfirst=True)
    # Paging a campaign's contacts by id (results.csv) scanned and sorted the whole
    # campaign once per page without it: 29 s for 100,000 contacts.
    index = next(i for i in contacts.indexes if i.name == "ix_contacts_campaign_id")
    index.create(conn, checkfirst=True)


def _v3_call_records(conn: Connection) -> None:
    # Imported here: dialtone.records imports the campaign store's column types.
    from ..records.store import RECORD_TABLES

    metadata.create_all(conn, tables=list(RECORD_TABLES), checkfirst=True)


STEPS: tuple[Step, ...] = (
    Step(1, "campaign tables", _v1_campaign_tables),
    Step(
        2,
        "webhook outbox, per-campaign webhook secrets, contacts by campaign index",
        _v2_webhook_outbox,
    ),
    Step(3, "call records", _v3_call_records),
)
LATEST = STEPS[-1].version


def current_version(conn: Connection) -> int:
    schema_version.create(conn, checkfirst=True)
    return int(
        conn.scalar(
            select(schema_version.c.version).order_by(schema_version.c.version.desc()).limit(1)
        )
        or 0
    )


def migrate(engine: Engine) -> list[int]:
    """Bring the database to `LATEST`; returns the versions applied now (maybe none)."""
    applied: list[int] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        version = current_version(conn)
        if version > LATEST:
            raise RuntimeError(
                f"the campaign database is at schema version {version}, newer than this "
                f"dialtone ({LATEST}); upgrade dialtone"
            )
        for step in STEPS:
            if step.version <= version:
                continue
            step.apply(conn)
            conn.execute(
                insert(schema_version).values(
                    version=step.version,
                    description=step.description,
                    applied_at=datetime.now(UTC),
                )
            )
            applied.append(step.version)
    return applied
