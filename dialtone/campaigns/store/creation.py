"""Creating a campaign: the campaign row, its contacts streamed in chunks, idempotency."""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ...db.tables import campaigns, contacts, idempotency_keys
from ..models import CampaignSettings, CampaignStatus, ContactIn, ContactState
from ..outbox import save_secret
from ..policy.location import resolve
from .base import StoreBase, dnc_among
from .rows import IdempotencyMismatch

INSERT_CHUNK = 2000  # contacts inserted per statement on creation


class CreationMixin(StoreBase):
    def create_campaign(
        self,
        settings: CampaignSettings,
        people: Iterable[tuple[int, ContactIn]],
        now: datetime,
        *,
        kind: str = "campaign",
        idempotency: tuple[str, str, str | Callable[[], str]] | None = None,
        webhook_secret: str | None = None,
    ) -> tuple[str, bool]:
        """Insert the campaign and all contacts in one transaction.

        `people` may be a stream: contacts are inserted in chunks as they come, so an
        upload is never all in memory; if the stream raises (the API's validation found
        bad rows), the transaction rolls back and nothing exists.

        `idempotency` = (scope, key, request hash, or a function giving it once `people`
        is consumed). Returns (campaign id, replayed): a key seen before with the same
        request returns the first campaign; with a different request it raises
        `IdempotencyMismatch`. The key row is written last, so a concurrent request with
        the same key waits on it and then sees the first one's result.
        """
        campaign_id = uuid.uuid4().hex
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(campaigns).values(
                        id=campaign_id,
                        kind=kind,
                        name=settings.name,
                        status=CampaignStatus.ACTIVE,
                        status_reason=None,
                        spec=settings.model_dump_json(),
                        contact_count=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
                if webhook_secret:
                    save_secret(conn, campaign_id, webhook_secret)
                total = 0
                chunk: list[tuple[int, ContactIn]] = []
                for item in people:
                    chunk.append(item)
                    if len(chunk) == INSERT_CHUNK:
                        total += _insert_contacts(conn, campaign_id, settings, chunk, now)
                        chunk = []
                total += _insert_contacts(conn, campaign_id, settings, chunk, now)
                conn.execute(
                    update(campaigns)
                    .where(campaigns.c.id == campaign_id)
                    .values(contact_count=total)
                )
                if idempotency is not None:
                    scope, key, digest = idempotency
                    conn.execute(
                        insert(idempotency_keys).values(
                            scope=scope,
                            key=key,
                            request_hash=digest if isinstance(digest, str) else digest(),
                            campaign_id=campaign_id,
                            created_at=now,
                        )
                    )
        except IntegrityError:
            if idempotency is None:
                raise
            scope, key, digest = idempotency
            with self._read() as conn:
                found = conn.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
                    )
                ).first()
            if found is None:
                raise
            given = digest if isinstance(digest, str) else digest()
            if not hmac.compare_digest(found.request_hash, given):
                raise IdempotencyMismatch(
                    f"Idempotency-Key {key!r} was already used with a different request"
                ) from None
            return found.campaign_id, True
        return campaign_id, False


def _insert_contacts(
    conn: Connection,
    campaign_id: str,
    settings: CampaignSettings,
    chunk: Sequence[tuple[int, ContactIn]],
    now: datetime,
) -> int:
    """Numbers already on the do-not-call list start `dnc`, never `pending`."""
    if not chunk:
        return 0
    blocked = dnc_among(conn, [c.phone for _, c in chunk])
    where = [
        resolve(
            phone=c.phone,
            zone=c.timezone,
            country=c.country,
            region=c.region,
            campaign_zone=settings.timezone,
        )
        for _, c in chunk
    ]
    conn.execute(
        insert(contacts),
        [
            {
                "campaign_id": campaign_id,
                "row": row,
                "phone": c.phone,
                "name": c.name,
                "timezone": place.zone,
                "country": place.country,
                "region": place.region,
                "location_source": place.source,
                "variables": json.dumps(c.variables, sort_keys=True),
                "state": ContactState.DNC if c.phone in blocked else ContactState.PENDING,
                "attempts": 0,
                "attempt_seq": 0,
                "dispatch_failures": 0,
                "next_at": now,
                "last_outcome": None,
                "last_detail": "on the do-not-call list" if c.phone in blocked else None,
                "updated_at": now,
            }
            for (row, c), place in zip(chunk, where, strict=True)
        ],
    )
    return len(chunk)
