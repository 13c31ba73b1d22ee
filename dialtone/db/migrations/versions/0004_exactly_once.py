"""Exactly once under concurrency and crashes: the dial permit's job, per-attempt deadlines,
a per-trunk send limiter shared by every replica.

- `campaign_attempts.dial_job_id`: the LiveKit job that holds the dial permit. The
  permit is a compare-and-set on (`dial_started_at`, `dial_job_id`): the same job asking
  again is allowed again (its first answer was lost, it cannot have dialled), any other
  job is refused.
- `campaign_attempts.budget_seconds`: ring timeout + the persona's `max_call_seconds` +
  a margin, written when the attempt is claimed; `deadline_at`: when the server stops
  waiting for the agent's report and settles the attempt from what it knows. Attempts
  in flight during the upgrade have neither: they keep the old fixed 45-minute deadline.
- `trunk_sends`: per outbound trunk, the earliest time the next dispatch may be sent;
  every replica takes its send slot here at the moment of sending.

A pre-Alembic database is adopted by creating what it lacks from the current tables, so
each step checks first.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dialtone.db.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _new_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("dial_job_id", sa.String(128)),
        sa.Column("budget_seconds", sa.Integer()),
        sa.Column("deadline_at", UTCDateTime()),
    ]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("campaign_attempts")}
    for column in _new_columns():
        if column.name not in columns:
            op.add_column("campaign_attempts", column)
    indexes = {i["name"] for i in inspector.get_indexes("campaign_attempts")}
    if "ix_attempts_deadline" not in indexes:
        op.create_index("ix_attempts_deadline", "campaign_attempts", ["status", "deadline_at"])
    if "trunk_sends" not in inspector.get_table_names():
        op.create_table(
            "trunk_sends",
            sa.Column("trunk", sa.String(128), primary_key=True),
            sa.Column("next_at", UTCDateTime(), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("trunk_sends")
    op.drop_index("ix_attempts_deadline", "campaign_attempts")
    with op.batch_alter_table("campaign_attempts") as batch:
        for column in _new_columns():
            batch.drop_column(column.name)
