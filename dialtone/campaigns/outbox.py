"""The webhook outbox: events are rows written in the transaction that caused them.

A call outcome and its `call.outcome` event commit together, or neither does: a crash
between "the outcome is recorded" and "the webhook is sent" cannot lose the webhook,
because sending is a separate step that reads this table (`webhooks.WebhookSender`) and
retries until the receiver answers 2xx. Delivery is therefore at least once; receivers
de-duplicate by the event id (`Dialtone-Event-Id`, also `id` in the body).

Per-campaign secrets live in their own table, not in the campaign's spec, because the
spec is returned by `GET /v1/campaigns/{id}`: a secret must never be read back.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert

from ..db.tables import webhook_outbox, webhook_secrets


class EventType(StrEnum):
    CALL_OUTCOME = "call.outcome"
    CAMPAIGN_FINISHED = "campaign.finished"
    MESSAGE_CREATED = "message.created"  # of no campaign: signed with the default secret


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # every retry failed; kept for inspection


def enqueue(
    conn: Connection,
    url: str | None,
    campaign_id: str | None,
    event: EventType,
    data: dict[str, Any],
    now: datetime,
) -> str | None:
    """Write one event for delivery, in the caller's transaction; None if no URL is set."""
    if not url:
        return None
    event_id = uuid.uuid4().hex
    body = {
        "id": event_id,
        "type": event.value,
        "created_at": iso_z(now),
        "data": data,
    }
    conn.execute(
        insert(webhook_outbox).values(
            event_id=event_id,
            campaign_id=campaign_id,
            type=event.value,
            url=url,
            payload=json.dumps(body, sort_keys=True, separators=(",", ":")),
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_at=now,
            created_at=now,
        )
    )
    return event_id


def iso_z(when: datetime) -> str:
    """An aware time as receivers parse it most easily: ISO 8601 in UTC with `Z`."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def save_secret(conn: Connection, campaign_id: str, secret: str) -> None:
    conn.execute(insert(webhook_secrets).values(campaign_id=campaign_id, secret=secret))
