"""dialtone's Prometheus metrics: one registry every part of the product registers into.

Two kinds of metric, on purpose:

- **events** (this module's counters, `..._total`): things that happened in this process,
  such as a dispatch sent to LiveKit or a webhook delivered. Prometheus handles their
  reset on restart (`rate()`, `increase()`); across replicas they are summed.
- **state** (custom collectors, evaluated at scrape time): values read from a database
  when Prometheus scrapes, such as the calls in flight or the contacts per state. They are
  right after a restart and identical on every replica that shares the database, so
  aggregate them with `max`, not `sum`. The campaign store's collector is in
  `dialtone/campaigns/metrics.py`.

Names follow Prometheus conventions: `dialtone_` prefix, base units, `_total` on
counters, lower-case labels with small fixed value sets (never a phone number, campaign
id or room name: unbounded label values are a memory leak in Prometheus).

Other modules register here with `REGISTRY` (counters, histograms) or
`register_collector` (scrape-time collectors).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

DISPATCH_RESULTS = ("dispatched", "refused", "not_sent", "rejected", "config_error", "unknown")

CAMPAIGN_DISPATCHES = Counter(
    "dialtone_campaign_dispatches",
    "Reminder-agent dispatches this process settled, by result (dispatched = the agent "
    "was sent into the attempt's room, so a call is being placed)",
    ["result"],
    registry=REGISTRY,
)
for _result in DISPATCH_RESULTS:
    CAMPAIGN_DISPATCHES.labels(_result)

CAMPAIGN_SEND_SLOTS_MISSED = Counter(
    "dialtone_campaign_send_slots_missed",
    "Dispatches that woke too late for their send slot on a trunk's pace and took a fresh "
    "one instead of sending late (a stalled loop or a slow database; a steady rise means "
    "this replica is overloaded)",
    registry=REGISTRY,
)

WEBHOOK_DELIVERIES = Counter(
    "dialtone_webhook_deliveries",
    "Webhook POSTs this process made, by result (delivered = 2xx; failed = retried later; "
    "dead = gave up after the last retry)",
    ["result"],
    registry=REGISTRY,
)
for _result in ("delivered", "failed", "dead"):
    WEBHOOK_DELIVERIES.labels(_result)


class _Forward(Collector):
    """Yields another registry's metrics, so a per-app registry can include the global one."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()


def registry_with(*collectors: Collector) -> CollectorRegistry:
    """A registry with the global metrics plus `collectors` (e.g. one per API app's store).

    Scrape-time collectors bound to one database belong to the app that owns the engine;
    registering them globally would break when tests build many apps in one process.
    """
    combined = CollectorRegistry(auto_describe=False)
    combined.register(_Forward(REGISTRY))
    for collector in collectors:
        combined.register(collector)
    return combined


def register_collector(collector: Collector) -> None:
    """Add a process-wide scrape-time collector to the global registry."""
    REGISTRY.register(collector)


def render(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The text exposition format and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
