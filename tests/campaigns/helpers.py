"""Reads only tests need: the store's API has no reason to carry them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dialtone.campaigns.store import CampaignStore
from dialtone.db.engine import read_only
from dialtone.db.tables import attempts, contacts, dnc


def contact_states(store: CampaignStore, campaign_id: str) -> dict[str, str]:
    """phone -> state for every contact of a campaign."""
    with read_only(store.engine) as conn:
        return {
            r.phone: r.state
            for r in conn.execute(
                select(contacts.c.phone, contacts.c.state).where(
                    contacts.c.campaign_id == campaign_id
                )
            )
        }


def attempt_ids_for(store: CampaignStore, campaign_id: str) -> list[tuple[str, int, str]]:
    """(attempt id, contact id, status) for every attempt of a campaign."""
    with read_only(store.engine) as conn:
        return [
            (r.id, r.contact_id, r.status)
            for r in conn.execute(
                select(attempts.c.id, attempts.c.contact_id, attempts.c.status).where(
                    attempts.c.campaign_id == campaign_id
                )
            )
        ]


def on_dnc(store: CampaignStore, phone: str) -> bool:
    with read_only(store.engine) as conn:
        return conn.scalar(select(dnc.c.phone).where(dnc.c.phone == phone)) is not None


def attempt_row(store: CampaignStore, attempt_id: str) -> Any:
    """The attempt's whole row (status, outcome, dial_started_at, dial_job_id, ...)."""
    with read_only(store.engine) as conn:
        return conn.execute(select(attempts).where(attempts.c.id == attempt_id)).one()
