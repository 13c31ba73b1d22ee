"""The policy as the store asks it, on SQLite and PostgreSQL, against the same oracle.

The generated history is written as attempts of two campaigns that both hold the number
(calls from either count), the contact's location as stored fields; `decide_for` reads
them back in a transaction and must answer what the minute-by-minute oracle says.
Fewer cases than the pure test (each writes rows); the pure test covers the rules' space.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from sqlalchemy import Engine, delete, insert, select

from dialtone.campaigns.models import AttemptStatus, ContactIn, Outcome
from dialtone.campaigns.policy.ledger import decide_for
from dialtone.campaigns.store import CampaignStore
from dialtone.db.tables import attempts, campaigns, contacts, policy_refusals

from ..conftest import settings as campaign_settings
from .oracle import Case, allowed, first_allowed
from .test_decide_properties import cases, window

PHONE = "+15550200001"


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (attempts, policy_refusals, contacts, campaigns):
            conn.execute(delete(table))


def _store_case(store: CampaignStore, case: Case) -> Any:
    """Two campaigns holding the number; the history split between them. Returns the
    first campaign's contact row."""
    contact = ContactIn(
        phone=PHONE,
        timezone=case.zone,
        country=case.country,
        region=case.region,
        variables={"appointment": "Tue"},
    )
    ids = [
        store.create_campaign(campaign_settings(name=name), [(1, contact)], case.now)[0]
        for name in ("first", "second")
    ]
    with store.engine.begin() as conn:
        rows = {
            r.campaign_id: r
            for r in conn.execute(select(contacts).where(contacts.c.phone == PHONE))
        }
        for i, at in enumerate(case.history):
            owner = rows[ids[i % 2]]
            attempt_id = uuid.uuid4().hex
            conn.execute(
                insert(attempts).values(
                    id=attempt_id,
                    contact_id=owner.id,
                    campaign_id=owner.campaign_id,
                    number=i + 1,
                    room=f"dt-attempt-{attempt_id}",
                    status=AttemptStatus.FINISHED,
                    trunk="ST_trunk1",
                    token_hashes="",
                    dispatch_at=at,
                    dial_started_at=at,
                    outcome=Outcome.NO_ANSWER,
                    created_at=at,
                    finished_at=at,
                )
            )
    return rows[ids[0]]


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_the_stored_policy_matches_the_oracle(store: CampaignStore, case: Case) -> None:
    assume(case.country is not None)
    _reset(store.engine)
    store.rules = case.rules
    row = _store_case(store, case)
    with store.engine.connect() as conn:
        decision = decide_for(conn, row, window(case), "America/New_York", case.rules, case.now)
    assert decision.allowed == allowed(case, case.now)
    if not decision.allowed and decision.not_before is not None:
        assert first_allowed(case, decision.not_before) == decision.not_before
