"""Every table dialtone stores, on one `MetaData`: the schema Alembic migrates.

The campaign store, the webhook outbox, the call records and the receptionist's messages
live in one database (`DIALTONE_DATABASE_URL`, else a SQLite file under the data
directory), so they are defined here, below every package that reads them: `records`
and `campaigns` both import from `db`, never from each other.

A change here needs a new revision under `migrations/versions/` (see `upgrade`).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .types import UTCDateTime

metadata = MetaData()

# --- campaigns ------------------------------------------------------------------------

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text),
    Column("spec", Text, nullable=False),
    Column("contact_count", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

contacts = Table(
    "campaign_contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(32), ForeignKey("campaigns.id"), nullable=False),
    Column("row", Integer, nullable=False),
    Column("phone", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("variables", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),  # calls that count towards max_attempts
    Column("attempt_seq", Integer, nullable=False),  # attempt rows ever written
    Column("dispatch_failures", Integer, nullable=False),
    Column("next_at", UTCDateTime, nullable=False),
    Column("last_outcome", String(32)),
    Column("last_detail", Text),
    Column("updated_at", UTCDateTime, nullable=False),
    # Where the callee is, and where that came from (campaigns.policy.location; 0005).
    Column("country", String(2)),
    Column("region", String(8)),
    Column("location_source", String(64)),
    UniqueConstraint("campaign_id", "phone", name="uq_contact_phone"),
    Index("ix_contacts_due", "campaign_id", "state", "next_at"),
    Index("ix_contacts_state", "state"),
    Index("ix_contacts_phone", "phone"),
    Index("ix_contacts_campaign_id", "campaign_id", "id"),  # results paging
)

attempts = Table(
    "campaign_attempts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("contact_id", Integer, ForeignKey("campaign_contacts.id"), nullable=False),
    Column("campaign_id", String(32), ForeignKey("campaigns.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("room", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("trunk", String(128), nullable=False),
    Column("token_hashes", Text, nullable=False),
    Column("dispatch_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("dispatch_id", String(64)),
    Column("dial_started_at", UTCDateTime),
    Column("dial_job_id", String(128)),  # the job holding the dial permit (0004)
    Column("budget_seconds", Integer),  # ring + max call + margin (0004)
    Column("deadline_at", UTCDateTime),  # settled from what is known after this (0004)
    Column("outcome", String(32)),
    Column("detail", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("dispatched_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    # A person answered and heard no agent speech within 2 s (0005); null: not a person
    Column("abandoned", Boolean),
    UniqueConstraint("contact_id", "number", name="uq_attempt_number"),
    Index("ix_attempts_campaign", "campaign_id", "created_at"),
    Index("ix_attempts_status", "status", "lease_until"),
    Index("ix_attempts_deadline", "status", "deadline_at"),
)

dnc = Table(
    "dnc",
    metadata,
    Column("phone", String(20), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(32), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("campaign_id", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "key"),
)

trunk_pace = Table(
    "trunk_pace",
    metadata,
    Column("trunk", String(128), primary_key=True),
    Column("next_slot_at", UTCDateTime, nullable=False),
)

# How often the calling policy held a campaign's contact back, by reason (0005).
policy_refusals = Table(
    "campaign_policy_refusals",
    metadata,
    Column("campaign_id", String(32), ForeignKey("campaigns.id"), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("campaign_id", "reason"),
)

# The shared send limiter (0004): every replica takes a trunk's next send slot here.
trunk_sends = Table(
    "trunk_sends",
    metadata,
    Column("trunk", String(160), primary_key=True),  # a trunk, or "<trunk> dial"
    Column("next_at", UTCDateTime, nullable=False),
    Column("interval_ms", Integer),  # the dispatch pace, which dials follow too
)

claim_lock = Table(
    "claim_lock",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("seq", Integer, nullable=False),
)


# --- the webhook outbox (see campaigns.outbox) --------------------------------------

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(32), nullable=False, unique=True),
    Column("campaign_id", String(32), ForeignKey("campaigns.id")),  # null: message.created
    Column("type", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Index("ix_outbox_due", "status", "next_at"),
)

webhook_secrets = Table(
    "campaign_webhook_secrets",
    metadata,
    Column("campaign_id", String(32), ForeignKey("campaigns.id"), primary_key=True),
    Column("secret", Text, nullable=False),
)


# --- call records (see records.store) ------------------------------------------------

call_records = Table(
    "call_records",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("sip_call_id", String(128)),
    Column("room", String(128)),
    Column("caller_number", String(64)),
    Column("called_number", String(64)),
    # The numbers as stored, reversed: "calls ending in 0142" is an index range (0003).
    Column("caller_number_rev", String(64)),
    Column("called_number_rev", String(64)),
    Column("trunk", String(128)),
    Column("persona", String(128)),
    Column("campaign_id", String(32)),
    Column("attempt_id", String(32)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ringing_at", UTCDateTime),
    Column("answered_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("outcome", String(32)),
    Column("hangup_by", String(16)),
    Column("disconnect_reason", String(200)),
    Column("sip_status_code", Integer),
    Column("sip_status", String(200)),
    Column("transfer_outcome", String(32)),
    Column("dropped", Boolean, nullable=False, default=False),
    Column("tools", Text, nullable=False, default="[]"),
    Column("turns", Integer, nullable=False, default=0),
    Column("response_median_ms", Float),
    Column("response_p95_ms", Float),
    Column("llm_ttft_median_ms", Float),
    Column("llm_ttft_p95_ms", Float),
    Column("tts_ttfb_median_ms", Float),
    Column("tts_ttfb_p95_ms", Float),
    Column("interruptions", Integer, nullable=False, default=0),
    Column("transcript", Text),
    Column("lease_until", UTCDateTime),
    Column("caller_left_at", UTCDateTime),
    Column("closed_by", String(16)),
    Column("detail", Text),
    # Outbound: who answered (human, voicemail, screening, ivr, unsure) and how long
    # after the far end began to speak dialtone knew it (0006).
    Column("answer", String(16)),
    Column("answer_decided_ms", Float),
    Column("updated_at", UTCDateTime, nullable=False),
    # Keyset pages, newest first: one index per filter combination the API offers.
    Index("ix_call_records_started", "started_at", "id"),
    Index("ix_call_records_direction", "direction", "started_at", "id"),
    Index("ix_call_records_outcome", "outcome", "started_at", "id"),
    Index("ix_call_records_dir_outcome", "direction", "outcome", "started_at", "id"),
    # The console's filters (0003): persona, campaign, either party's number.
    Index("ix_call_records_persona", "persona", "started_at", "id"),
    Index("ix_call_records_campaign", "campaign_id", "started_at", "id"),
    Index("ix_call_records_caller_rev", "caller_number_rev", "started_at", "id"),
    Index("ix_call_records_called_rev", "called_number_rev", "started_at", "id"),
    # "Transfers that did not reach a person" (0007): few rows, read newest first.
    Index("ix_call_records_transfer", "transfer_outcome", "started_at", "id"),
    # The lease reaper and the webhook.
    Index("ix_call_records_open", "status", "lease_until"),
    Index("ix_call_records_room", "room"),
    Index("ix_call_records_sip_call", "sip_call_id"),
)

# The overview's counters per UTC day of started_at (see db.rollup; 0003).
call_rollup = Table(
    "call_rollup",
    metadata,
    Column("day", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("key", String(32), nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("day", "kind", "key"),
)


# --- the receptionist's messages (see messages.store) ---------------------------------

messages = Table(
    "messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("persona", String(64), nullable=False),
    Column("caller_number", String(32)),
    Column("call_id", String(128), index=True),
    Column("room", String(128)),
    Column("message", Text, nullable=False),
    Column("handled_at", DateTime(timezone=True)),  # null: waiting for an operator
    Column("caller_name", String(200)),  # as the caller gave it, when they did (0007)
    # The inbox: waiting ones newest first, and their count (0003).
    Index("ix_messages_waiting", "handled_at", "created_at", "id"),
)


# --- the console's people, sessions, sign-in throttle and audit log (0007) -----------

console_users = Table(
    "console_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # staff | manager
    Column("password_hash", Text, nullable=False),  # argon2id, never the password
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One row per signed-in browser; the cookie holds a random token, this table its hash.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer),  # null: signed in with the API token / console password
    Column("actor", String(80), nullable=False),
    Column("role", String(16), nullable=False),
    Column("stamp", String(32), nullable=False),  # of the credential used; a reset changes it
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_console_sessions_user", "user_id"),
)

# Failed sign-ins per account ("user:<name>") and per address ("addr:<ip>").
signin_throttle = Table(
    "signin_throttle",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("blocked_until", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=False),
    Column("detail", Text),
    Index("ix_audit_log_at", "at", "id"),
)
