"""The callee's law: where each contact is, and the calling policy's refusal counts.

- `campaign_contacts.country`, `.region`, `.location_source`: the callee's country,
  subdivision and where each part of the location came from (the contact's fields, the
  number, the campaign). Existing contacts keep them null: the policy reads their
  location from the number when it decides, with their stored zone.
- `campaign_policy_refusals`: per campaign and reason, how often the policy held a
  contact back.
- `campaign_attempts.abandoned`: a person answered and heard no agent speech within 2 s
  (null on attempts where no person answered, and on every attempt before this).

Revision ID: 0005
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("country", sa.String(2)),
    ("region", sa.String(8)),
    ("location_source", sa.String(64)),
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    have = {c["name"] for c in inspector.get_columns("campaign_contacts")}
    with op.batch_alter_table("campaign_contacts") as batch:
        for name, kind in _COLUMNS:
            if name not in have:
                batch.add_column(sa.Column(name, kind, nullable=True))
    if "abandoned" not in {c["name"] for c in inspector.get_columns("campaign_attempts")}:
        with op.batch_alter_table("campaign_attempts") as batch:
            batch.add_column(sa.Column("abandoned", sa.Boolean, nullable=True))
    if not inspector.has_table("campaign_policy_refusals"):
        op.create_table(
            "campaign_policy_refusals",
            sa.Column("campaign_id", sa.String(32), sa.ForeignKey("campaigns.id"), nullable=False),
            sa.Column("reason", sa.String(32), nullable=False),
            sa.Column("n", sa.Integer, nullable=False),
            sa.PrimaryKeyConstraint("campaign_id", "reason"),
        )


def downgrade() -> None:
    op.drop_table("campaign_policy_refusals")
    with op.batch_alter_table("campaign_attempts") as batch:
        batch.drop_column("abandoned")
    with op.batch_alter_table("campaign_contacts") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
