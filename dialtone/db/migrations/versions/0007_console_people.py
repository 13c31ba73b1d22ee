"""The console's people: named users, server-side sessions, sign-in throttle, audit log;
the name a caller gave with their message (`messages.caller_name`, null before); and an
index for the console's "transfers that did not reach a person" filter.

New tables and one nullable column, so an existing database upgrades without touching
its rows; a
database adopted from before Alembic may already hold them (created from the current
tables), so each is created only when missing.

Revision ID: 0007
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dialtone.db.types import UTCDateTime

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    if "caller_name" not in {c["name"] for c in inspector.get_columns("messages")}:
        op.add_column("messages", sa.Column("caller_name", sa.String(200)))
    if "ix_call_records_transfer" not in {i["name"] for i in inspector.get_indexes("call_records")}:
        op.create_index(
            "ix_call_records_transfer", "call_records", ["transfer_outcome", "started_at", "id"]
        )
    if "console_users" not in existing:
        op.create_table(
            "console_users",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("name", sa.String(64), nullable=False, unique=True),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("password_hash", sa.Text(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("updated_at", UTCDateTime(), nullable=False),
        )
    if "console_sessions" not in existing:
        op.create_table(
            "console_sessions",
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column("user_id", sa.Integer()),
            sa.Column("actor", sa.String(80), nullable=False),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("stamp", sa.String(32), nullable=False),
            sa.Column("csrf", sa.String(64), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("expires_at", UTCDateTime(), nullable=False),
        )
        op.create_index("ix_console_sessions_user", "console_sessions", ["user_id"])
    if "signin_throttle" not in existing:
        op.create_table(
            "signin_throttle",
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("failures", sa.Integer(), nullable=False),
            sa.Column("blocked_until", UTCDateTime(), nullable=False),
            sa.Column("last_at", UTCDateTime(), nullable=False),
        )
    if "audit_log" not in existing:
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("at", UTCDateTime(), nullable=False),
            sa.Column("actor", sa.String(80), nullable=False),
            sa.Column("action", sa.String(64), nullable=False),
            sa.Column("target", sa.String(200), nullable=False),
            sa.Column("detail", sa.Text()),
        )
        op.create_index("ix_audit_log_at", "audit_log", ["at", "id"])


def downgrade() -> None:
    op.drop_index("ix_call_records_transfer", "call_records")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("caller_name")
    op.drop_table("audit_log")
    op.drop_table("signin_throttle")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
