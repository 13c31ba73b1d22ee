"""Call records say who answered an outbound call, and how long that took to know.

`call_records.answer`: human, voicemail, screening (a call screener such as Pixel's
Call Screen), ivr (a phone menu) or unsure; `call_records.answer_decided_ms`: from
the far end's first speech to the verdict. Both are null on inbound calls and on
records written before this revision: nothing is backfilled, as nothing was measured.

A pre-Alembic database is adopted by creating what it lacks from the current tables,
so the columns may exist already: each step checks first.

Revision ID: 0006 (applied after 0007, which landed first)
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    have = _columns("call_records")
    if "answer" not in have:
        op.add_column("call_records", sa.Column("answer", sa.String(16)))
    if "answer_decided_ms" not in have:
        op.add_column("call_records", sa.Column("answer_decided_ms", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("answer_decided_ms")
        batch.drop_column("answer")
