"""Campaign metrics read from the store when Prometheus scrapes (`/metrics`).

These are state, so they come from the database rather than from counters in this
process: they are right after a restart, and every API replica sharing one PostgreSQL
database reports the same values (aggregate with `max`, not `sum`). Labels take small
fixed value sets only (outcome, state, status), never a campaign id or a phone number.

- `dialtone_campaign_calls_placed_total`: attempts handed to LiveKit, ever (dispatched
  or finished); a counter because rows only ever move forward.
- `dialtone_campaign_call_outcomes_total{outcome}`: finished attempts by outcome.
- `dialtone_campaign_answer_ratio`: answered (completed, opted_out, voicemail) over all
  finished attempts, ever; for a recent rate use the outcome counters in PromQL.
- `dialtone_campaign_calls_in_flight`: attempts being dispatched or in a call now.
- `dialtone_campaign_contacts{state}`, `dialtone_campaigns{status}`.
- `dialtone_webhooks_pending`, `dialtone_webhooks_dead`: outbox rows waiting, given up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from ..db.tables import attempts, campaigns, contacts, webhook_outbox
from .models import AttemptStatus, CampaignStatus, ContactState, Outcome
from .outbox import DeliveryStatus

logger = logging.getLogger("dialtone.metrics")

ANSWERED = frozenset({Outcome.COMPLETED, Outcome.OPTED_OUT, Outcome.VOICEMAIL})


def _counts(rows: Iterable[Any]) -> dict[str, int]:
    return {str(row[0]): int(row[1]) for row in rows}


class CampaignStoreCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[Metric]:
        return []  # families are built at scrape time; nothing to pre-declare

    def collect(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            by_status = _counts(
                conn.execute(select(attempts.c.status, func.count()).group_by(attempts.c.status))
            )
            by_outcome = _counts(
                conn.execute(
                    select(attempts.c.outcome, func.count())
                    .where(attempts.c.status == AttemptStatus.FINISHED)
                    .group_by(attempts.c.outcome)
                )
            )
            by_state = _counts(
                conn.execute(select(contacts.c.state, func.count()).group_by(contacts.c.state))
            )
            by_campaign = _counts(
                conn.execute(select(campaigns.c.status, func.count()).group_by(campaigns.c.status))
            )
            outbox = _counts(
                conn.execute(
                    select(webhook_outbox.c.status, func.count())
                    .where(webhook_outbox.c.status != DeliveryStatus.DELIVERED)
                    .group_by(webhook_outbox.c.status)
                )
            )
            conn.rollback()

        def n(table: dict[str, int], key: str) -> int:
            return table.get(key, 0)

        placed = n(by_status, AttemptStatus.DISPATCHED) + n(by_status, AttemptStatus.FINISHED)
        yield CounterMetricFamily(
            "dialtone_campaign_calls_placed",
            "Campaign call attempts handed to LiveKit (dispatched or finished), from the store",
            value=placed,
        )
        outcomes = CounterMetricFamily(
            "dialtone_campaign_call_outcomes",
            "Finished campaign call attempts by outcome, from the store",
            labels=["outcome"],
        )
        for outcome in Outcome:
            outcomes.add_metric([outcome.value], n(by_outcome, outcome.value))
        yield outcomes
        finished = sum(by_outcome.values())
        answered = sum(n(by_outcome, o.value) for o in ANSWERED)
        yield GaugeMetricFamily(
            "dialtone_campaign_answer_ratio",
            "Answered (completed, opted_out, voicemail) / finished campaign calls, all time; "
            "0 before the first call",
            value=answered / finished if finished else 0.0,
        )
        yield GaugeMetricFamily(
            "dialtone_campaign_calls_in_flight",
            "Campaign attempts being dispatched or in a call now",
            value=n(by_status, AttemptStatus.DISPATCHING) + n(by_status, AttemptStatus.DISPATCHED),
        )
        per_state = GaugeMetricFamily(
            "dialtone_campaign_contacts", "Campaign contacts by state", labels=["state"]
        )
        for state in ContactState:
            per_state.add_metric([state.value], n(by_state, state.value))
        yield per_state
        per_status = GaugeMetricFamily(
            "dialtone_campaigns", "Campaigns by status", labels=["status"]
        )
        for status in CampaignStatus:
            per_status.add_metric([status.value], n(by_campaign, status.value))
        yield per_status
        yield GaugeMetricFamily(
            "dialtone_webhooks_pending",
            "Webhook events waiting for delivery (outbox)",
            value=n(outbox, DeliveryStatus.PENDING),
        )
        yield GaugeMetricFamily(
            "dialtone_webhooks_dead",
            "Webhook events given up after the last retry",
            value=n(outbox, DeliveryStatus.DEAD),
        )
