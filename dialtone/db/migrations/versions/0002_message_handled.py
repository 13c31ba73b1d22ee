"""Messages can be marked handled; the webhook outbox carries events of no campaign.

`messages.handled_at` is when an operator marked the message dealt with (null: it is
waiting). `webhook_outbox.campaign_id` becomes nullable: a `message.created` event
belongs to no campaign, and is signed with DIALTONE_WEBHOOK_SECRET.

A pre-Alembic database is adopted by creating what it lacks from the current tables,
so `messages` may already have `handled_at` here: each step checks first.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _columns(table: str) -> dict[str, dict[str, object]]:
    return {c["name"]: dict(c) for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    if "handled_at" not in _columns("messages"):
        op.add_column("messages", sa.Column("handled_at", sa.DateTime(timezone=True)))
    if not _columns("webhook_outbox")["campaign_id"]["nullable"]:
        with op.batch_alter_table("webhook_outbox") as batch:
            batch.alter_column("campaign_id", existing_type=sa.String(32), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("webhook_outbox") as batch:
        batch.alter_column("campaign_id", existing_type=sa.String(32), nullable=False)
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("handled_at")
