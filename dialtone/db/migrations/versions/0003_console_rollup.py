"""The console at a million calls: per-day counters, reversed numbers, filter indexes.

- `call_rollup`: the overview's counters per UTC day (see `db.rollup`), backfilled here
  from every existing call record, so an upgraded deployment's overview is right at once.
- `call_records.caller_number_rev` / `called_number_rev`: each number as stored, reversed
  and indexed, so "calls from a number ending in 0142" is an index range, not a scan.
- Indexes for the console's persona, campaign and number filters (newest first), and
  for the inbox's waiting messages.

A pre-Alembic database is adopted by creating what it lacks from the current tables, so
any of these may exist already: each step checks first. The backfill always recounts.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dialtone.db import rollup

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NUMBERS = ("caller_number", "called_number")
_INDEXES = {
    "ix_call_records_persona": ["persona", "started_at", "id"],
    "ix_call_records_campaign": ["campaign_id", "started_at", "id"],
    "ix_call_records_caller_rev": ["caller_number_rev", "started_at", "id"],
    "ix_call_records_called_rev": ["called_number_rev", "started_at", "id"],
}


def _reverse_function(bind: sa.Connection) -> str:
    """PostgreSQL has reverse(); SQLite gets the same as a function on this connection."""
    if bind.dialect.name == "postgresql":
        return "reverse"
    driver = bind.connection.driver_connection
    driver.create_function(  # type: ignore[union-attr]
        "dialtone_reverse", 1, lambda s: None if s is None else s[::-1], deterministic=True
    )
    return "dialtone_reverse"


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    columns = {c["name"] for c in inspector.get_columns("call_records")}
    for name in _NUMBERS:
        if f"{name}_rev" not in columns:
            op.add_column("call_records", sa.Column(f"{name}_rev", sa.String(64)))
    reverse = _reverse_function(bind)
    bind.execute(
        sa.text(
            f"UPDATE call_records SET caller_number_rev = {reverse}(caller_number), "
            f"called_number_rev = {reverse}(called_number)"
        )
    )
    existing = {i["name"] for i in inspector.get_indexes("call_records")}
    for name, on in _INDEXES.items():
        if name not in existing:
            op.create_index(name, "call_records", on)
    if "ix_messages_waiting" not in {i["name"] for i in inspector.get_indexes("messages")}:
        op.create_index("ix_messages_waiting", "messages", ["handled_at", "created_at", "id"])
    if "call_rollup" not in inspector.get_table_names():
        op.create_table(
            "call_rollup",
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("key", sa.String(32), nullable=False),
            sa.Column("n", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("day", "kind", "key"),
        )
    rollup.rebuild(bind)


def downgrade() -> None:
    op.drop_table("call_rollup")
    op.drop_index("ix_messages_waiting", "messages")
    for name in _INDEXES:
        op.drop_index(name, "call_records")
    with op.batch_alter_table("call_records") as batch:
        for name in _NUMBERS:
            batch.drop_column(f"{name}_rev")
