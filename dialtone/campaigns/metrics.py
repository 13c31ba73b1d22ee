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
- `dialtone_campaign_policy_refusals_total{reason}`: the calling policy's refusals.
- `dialtone_campaign_abandoned_ratio_max`: the highest 24-hour abandoned-call rate of
  any active campaign (no campaign id label; the campaign's view has its own).
- `dialtone_webhooks_pending`, `dialtone_webhooks_dead`: outbox rows waiting, given up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from ..db.tables import attempts, campaigns, contacts, policy_refusals, webhook_outbox
from .models import AttemptStatus, CampaignStatus, ContactState, Outcome
from .outbox import DeliveryStatus
from .policy import Reason
from .policy.ledger import abandoned_rates

logger = logging.getLogger("dialtone.metrics")

ANSWERED = frozenset({Outcome.COMPLETED, Outcome.OPTED_OUT, Outcome.VOICEMAIL})


def _counts(rows: Iterable[Any]) -> dict[str, int]:
    return {str(row[0]): int(row[1]) for row in rows}


class CampaignStoreCollector(Collector):
    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.engine = engine
        self.clock = clock  # the 24 hours of the abandoned-call rate

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
            refusals = _counts(
                conn.execute(
                    select(policy_refusals.c.reason, func.sum(policy_refusals.c.n)).group_by(
                        policy_refusals.c.reason
                    )
                )
            )
            rates = abandoned_rates(conn, self.clock())
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
        held = CounterMetricFamily(
            "dialtone_campaign_policy_refusals",
            "Times the calling policy held a contact back, by reason, all campaigns",
            labels=["reason"],
        )
        for reason in Reason:
            held.add_metric([reason.value], n(refusals, reason.value))
        yield held
        yield GaugeMetricFamily(
            "dialtone_campaign_abandoned_ratio_max",
            "The highest abandoned-call rate (no agent speech within 2 s of a person's "
            "answer) of any active campaign over the last 24 hours; a campaign pauses itself "
            "above the calling rules' abandoned_max_rate",
            value=max((r.rate for r in rates.values()), default=0.0),
        )
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
