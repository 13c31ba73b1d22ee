"""A campaign's own status: pause, resume, cancel, and completion when nothing is left."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from ...db.tables import campaigns, contacts
from ..models import WAITING_STATES, CampaignStatus, ContactState
from .base import StoreBase
from .events import campaign_finished
from .rows import NotFound, StoreError


class StatusMixin(StoreBase):
    def set_status(self, campaign_id: str, action: str, now: datetime) -> CampaignStatus:
        """`pause` (active -> paused), `resume` (paused -> active), `cancel` (-> cancelled).

        Cancel moves every waiting contact to `cancelled` in the same transaction; a
        contact already in a call ends `cancelled` when its outcome is retryable.
        """
        transitions = {
            "pause": ({CampaignStatus.ACTIVE}, CampaignStatus.PAUSED),
            "resume": ({CampaignStatus.PAUSED}, CampaignStatus.ACTIVE),
            "cancel": ({CampaignStatus.ACTIVE, CampaignStatus.PAUSED}, CampaignStatus.CANCELLED),
        }
        allowed, target = transitions[action]
        with self.engine.begin() as conn:
            current = conn.scalar(select(campaigns.c.status).where(campaigns.c.id == campaign_id))
            if current is None:
                raise NotFound(f"campaign {campaign_id} not found")
            if current == target:
                return target
            if current not in allowed:
                raise StoreError(f"cannot {action} a campaign that is {current}")
            conn.execute(
                update(campaigns)
                .where(campaigns.c.id == campaign_id, campaigns.c.status == current)
                .values(status=target, status_reason=None, updated_at=now)
            )
            if target is CampaignStatus.CANCELLED:
                conn.execute(
                    update(contacts)
                    .where(
                        contacts.c.campaign_id == campaign_id,
                        contacts.c.state.in_(WAITING_STATES),
                    )
                    .values(state=ContactState.CANCELLED, updated_at=now)
                )
                campaign_finished(conn, campaign_id, target, now)
        return target

    def complete_finished(self, now: datetime) -> list[str]:
        """Active or paused campaigns whose every contact is terminal become `completed`."""
        open_contacts = (
            select(contacts.c.id)
            .where(
                contacts.c.campaign_id == campaigns.c.id,
                contacts.c.state.in_(
                    (ContactState.PENDING, ContactState.IN_FLIGHT, ContactState.RETRY_WAIT)
                ),
            )
            .exists()
        )
        with self.engine.begin() as conn:
            done = list(
                conn.scalars(
                    select(campaigns.c.id).where(
                        campaigns.c.status.in_((CampaignStatus.ACTIVE, CampaignStatus.PAUSED)),
                        ~open_contacts,
                    )
                )
            )
            finished: list[str] = []
            for campaign_id in done:
                # One UPDATE per campaign: only the replica whose UPDATE moved the row
                # writes the `campaign.finished` event, so it is written once.
                moved = conn.execute(
                    update(campaigns)
                    .where(
                        campaigns.c.id == campaign_id,
                        campaigns.c.status.in_((CampaignStatus.ACTIVE, CampaignStatus.PAUSED)),
                    )
                    .values(status=CampaignStatus.COMPLETED, updated_at=now)
                )
                if moved.rowcount == 1:
                    finished.append(campaign_id)
                    campaign_finished(conn, campaign_id, CampaignStatus.COMPLETED, now)
        return finished
