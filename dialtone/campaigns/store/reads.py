"""Reading campaigns back: the campaign, its progress, its attempts, its results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from ...db.tables import attempts, campaigns, contacts
from ..models import AttemptStatus, CampaignSettings, CampaignStatus, ContactState
from ..windows import local_day_start
from .base import StoreBase, calls_since, state_counts
from .rows import AttemptRow, CampaignRow, NotFound, Progress, ResultRow


def _campaign(row: Any) -> CampaignRow:
    return CampaignRow(
        id=row.id,
        kind=row.kind,
        name=row.name,
        status=CampaignStatus(row.status),
        status_reason=row.status_reason,
        settings=CampaignSettings.model_validate_json(row.spec),
        contact_count=row.contact_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ReadsMixin(StoreBase):
    def get_campaign(self, campaign_id: str) -> CampaignRow:
        with self._read() as conn:
            row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
        if row is None:
            raise NotFound(f"campaign {campaign_id} not found")
        return _campaign(row)

    def progress(self, campaign_id: str, now: datetime) -> Progress:
        campaign = self.get_campaign(campaign_id)
        day_start = local_day_start(ZoneInfo(campaign.settings.timezone), now)
        with self._read() as conn:
            states = state_counts(conn, campaign_id)
            outcomes = {
                str(outcome): int(n)
                for outcome, n in conn.execute(
                    select(attempts.c.outcome, func.count())
                    .where(attempts.c.campaign_id == campaign_id, attempts.c.outcome.is_not(None))
                    .group_by(attempts.c.outcome)
                )
            }
            total_attempts = conn.scalar(
                select(func.count()).where(
                    attempts.c.campaign_id == campaign_id,
                    attempts.c.status != AttemptStatus.NOT_DISPATCHED,
                )
            )
            today = calls_since(conn, campaign_id, day_start)
        counts = {s.value: states.get(s.value, 0) for s in ContactState}
        return Progress(campaign, counts, outcomes, int(total_attempts or 0), today)

    def list_attempts(
        self, campaign_id: str, *, limit: int, after: tuple[datetime, str] | None = None
    ) -> list[AttemptRow]:
        """The campaign's attempts oldest first, after the (created_at, id) key `after`."""
        self.get_campaign(campaign_id)
        query = (
            select(attempts, contacts.c.phone)
            .join(contacts, contacts.c.id == attempts.c.contact_id)
            .where(attempts.c.campaign_id == campaign_id)
            .order_by(attempts.c.created_at, attempts.c.id)
            .limit(limit)
        )
        if after is not None:
            created, attempt_id = after
            query = query.where(
                or_(
                    attempts.c.created_at > created,
                    and_(attempts.c.created_at == created, attempts.c.id > attempt_id),
                )
            )
        with self._read() as conn:
            return [
                AttemptRow(
                    id=r.id,
                    campaign_id=r.campaign_id,
                    contact_id=r.contact_id,
                    phone=r.phone,
                    number=r.number,
                    room=r.room,
                    status=r.status,
                    outcome=r.outcome,
                    detail=r.detail,
                    created_at=r.created_at,
                    dispatched_at=r.dispatched_at,
                    finished_at=r.finished_at,
                )
                for r in conn.execute(query)
            ]

    def results(self, campaign_id: str) -> Iterator[ResultRow]:
        """Every contact with its final (or current) state, in upload order."""
        self.get_campaign(campaign_id)
        last_id = 0
        while True:
            with self._read() as conn:
                batch = list(
                    conn.execute(
                        select(contacts)
                        .where(contacts.c.campaign_id == campaign_id, contacts.c.id > last_id)
                        .order_by(contacts.c.id)
                        .limit(1000)
                    )
                )
            if not batch:
                return
            for r in batch:
                yield ResultRow(
                    row=r.row,
                    phone=r.phone,
                    name=r.name,
                    timezone=r.timezone,
                    state=r.state,
                    attempts=r.attempts,
                    last_outcome=r.last_outcome,
                    last_detail=r.last_detail,
                    variables=json.loads(r.variables),
                    updated_at=r.updated_at,
                )
            last_id = batch[-1].id

    def dispatch_failures(self, contact_id: int) -> int:
        """Dispatches LiveKit never received for this contact: the scheduler's backoff."""
        with self._read() as conn:
            return int(
                conn.scalar(select(contacts.c.dispatch_failures).where(contacts.c.id == contact_id))
                or 0
            )
