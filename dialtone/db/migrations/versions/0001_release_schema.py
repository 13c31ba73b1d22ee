"""The schema of the last release before Alembic: campaign schema_version 3 (campaigns,
contacts, attempts, do-not-call list, idempotency keys, trunk pace, claim lock, webhook
outbox and secrets, call records) and the receptionist's messages.

A database that release wrote is not run through this: `upgrade` adopts it (creates what
it lacks) and stamps it at this revision.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 12:45:17.120383
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dialtone.db.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("sip_call_id", sa.String(length=128), nullable=True),
        sa.Column("room", sa.String(length=128), nullable=True),
        sa.Column("caller_number", sa.String(length=64), nullable=True),
        sa.Column("called_number", sa.String(length=64), nullable=True),
        sa.Column("trunk", sa.String(length=128), nullable=True),
        sa.Column("persona", sa.String(length=128), nullable=True),
        sa.Column("campaign_id", sa.String(length=32), nullable=True),
        sa.Column("attempt_id", sa.String(length=32), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ringing_at", UTCDateTime(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("hangup_by", sa.String(length=16), nullable=True),
        sa.Column("disconnect_reason", sa.String(length=200), nullable=True),
        sa.Column("sip_status_code", sa.Integer(), nullable=True),
        sa.Column("sip_status", sa.String(length=200), nullable=True),
        sa.Column("transfer_outcome", sa.String(length=32), nullable=True),
        sa.Column("dropped", sa.Boolean(), nullable=False),
        sa.Column("tools", sa.Text(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("response_median_ms", sa.Float(), nullable=True),
        sa.Column("response_p95_ms", sa.Float(), nullable=True),
        sa.Column("llm_ttft_median_ms", sa.Float(), nullable=True),
        sa.Column("llm_ttft_p95_ms", sa.Float(), nullable=True),
        sa.Column("tts_ttfb_median_ms", sa.Float(), nullable=True),
        sa.Column("tts_ttfb_p95_ms", sa.Float(), nullable=True),
        sa.Column("interruptions", sa.Integer(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("caller_left_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_call_records_dir_outcome",
        "call_records",
        ["direction", "outcome", "started_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_call_records_direction", "call_records", ["direction", "started_at", "id"], unique=False
    )
    op.create_index("ix_call_records_open", "call_records", ["status", "lease_until"], unique=False)
    op.create_index(
        "ix_call_records_outcome", "call_records", ["outcome", "started_at", "id"], unique=False
    )
    op.create_index("ix_call_records_room", "call_records", ["room"], unique=False)
    op.create_index("ix_call_records_sip_call", "call_records", ["sip_call_id"], unique=False)
    op.create_index("ix_call_records_started", "call_records", ["started_at", "id"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("contact_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "claim_lock",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "dnc",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("persona", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.Column("room", sa.String(length=128), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_messages_call_id", "messages", ["call_id"], unique=False)
    op.create_index("ix_messages_created_at", "messages", ["created_at"], unique=False)

    op.create_table(
        "trunk_pace",
        sa.Column("trunk", sa.String(length=128), nullable=False),
        sa.Column("next_slot_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("trunk"),
    )
    op.create_table(
        "campaign_contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("variables", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_seq", sa.Integer(), nullable=False),
        sa.Column("dispatch_failures", sa.Integer(), nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=False),
        sa.Column("last_outcome", sa.String(length=32), nullable=True),
        sa.Column("last_detail", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "phone", name="uq_contact_phone"),
    )
    op.create_index(
        "ix_contacts_campaign_id", "campaign_contacts", ["campaign_id", "id"], unique=False
    )
    op.create_index(
        "ix_contacts_due", "campaign_contacts", ["campaign_id", "state", "next_at"], unique=False
    )
    op.create_index("ix_contacts_phone", "campaign_contacts", ["phone"], unique=False)
    op.create_index("ix_contacts_state", "campaign_contacts", ["state"], unique=False)

    op.create_table(
        "campaign_webhook_secrets",
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_outbox_due", "webhook_outbox", ["status", "next_at"], unique=False)

    op.create_table(
        "campaign_attempts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trunk", sa.String(length=128), nullable=False),
        sa.Column("token_hashes", sa.Text(), nullable=False),
        sa.Column("dispatch_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("dispatch_id", sa.String(length=64), nullable=True),
        sa.Column("dial_started_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("dispatched_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["campaign_contacts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "number", name="uq_attempt_number"),
        sa.UniqueConstraint("room"),
    )
    op.create_index(
        "ix_attempts_campaign", "campaign_attempts", ["campaign_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_attempts_status", "campaign_attempts", ["status", "lease_until"], unique=False
    )
    # The one row claimers lock (see campaigns.store): it must exist before any claim.
    claim_lock = sa.table("claim_lock", sa.column("name", sa.String), sa.column("seq", sa.Integer))
    op.bulk_insert(claim_lock, [{"name": "claims", "seq": 0}])


def downgrade() -> None:
    for table in (
        "campaign_attempts",
        "webhook_outbox",
        "campaign_webhook_secrets",
        "campaign_contacts",
        "idempotency_keys",
        "trunk_pace",
        "claim_lock",
        "dnc",
        "campaigns",
        "call_records",
        "messages",
    ):
        op.drop_table(table)
