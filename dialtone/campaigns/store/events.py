"""The webhook events, each written to the outbox in the transaction that causes it.

Functions of the caller's connection, never their own transaction: an outcome or a
finished campaign and its event commit together or not at all (see `outbox`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ...db.tables import campaigns
from ..models import CampaignSettings, CampaignStatus, Outcome
from ..outbox import EventType, enqueue
from .base import state_counts


def outcome_event(
    conn: Connection,
    spec: CampaignSettings,
    a: Any,
    c: Any,
    outcome: Outcome,
    detail: str,
    state: str,
    now: datetime,
) -> None:
    """`call.outcome` for attempt row `a` of contact row `c`, which is now in `state`."""
    enqueue(
        conn,
        spec.webhook_url,
        a.campaign_id,
        EventType.CALL_OUTCOME,
        {
            "campaign_id": a.campaign_id,
            "attempt_id": a.id,
            "attempt_number": a.number,
            "outcome": str(outcome),
            "detail": detail[:2000],
            "contact": {
                "row": c.row,
                "phone": c.phone,
                "name": c.name,
                "timezone": c.timezone,
                "variables": json.loads(c.variables),
                "state": str(state),
                "attempts": c.attempts,
            },
        },
        now,
    )


def campaign_finished(
    conn: Connection, campaign_id: str, status: CampaignStatus, now: datetime
) -> None:
    """`campaign.finished` (completed or cancelled), with the final count per state."""
    row = conn.execute(
        select(campaigns.c.name, campaigns.c.spec, campaigns.c.contact_count).where(
            campaigns.c.id == campaign_id
        )
    ).one()
    spec = CampaignSettings.model_validate_json(row.spec)
    if not spec.webhook_url:
        return
    states = state_counts(conn, campaign_id)
    enqueue(
        conn,
        spec.webhook_url,
        campaign_id,
        EventType.CAMPAIGN_FINISHED,
        {
            "campaign_id": campaign_id,
            "name": row.name,
            "status": str(status),
            "contacts": {"total": row.contact_count, **states},
        },
        now,
    )
