"""Telephony metrics for Prometheus, counted when a call record is closed.

Counting at the record's closing (and nowhere else) is what keeps the metrics and the
records in agreement: every increment of `dialtone_calls_total` is one closed record,
whoever closed it (the agent, the lease reaper, LiveKit's webhook).

The worker runs each call in a job process of its own, so the worker exports these
through prometheus-client's multiprocess mode (`DIALTONE_WORKER_METRICS_PORT`, files
in `DIALTONE_METRICS_DIR`); the API exports the closings it made itself (lease and
webhook) on its own `/metrics`. Sum across jobs in PromQL. Label values come from small
fixed sets: never a number, room or campaign id.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from ..telephony.outcomes import TransferResult, add_transfer_listener
from .models import CallOutcome, CallRecord, Direction, RecordStatus

#: Seconds; post-dial delay is usually 2-8 s, a ringing timeout 30-60 s.
PDD_BUCKETS = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0, 30.0, 45.0, 60.0)
#: Seconds; a phone agent should answer a turn within about a second.
TURN_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
#: Seconds from the far end's first speech to knowing who answered (human, machine...).
ANSWER_BUCKETS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0)
ANSWERS = ("human", "voicemail", "screening", "ivr", "unsure")
DURATION_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0)
DROP_REASONS = ("agent_turn", "error", "worker_lost")


class CallMetrics:
    """Every call metric, on one registry (tests give each their own)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "dialtone_calls",
            "Calls ended, by direction and outcome (one per closed call record)",
            ["direction", "outcome"],
            registry=registry,
        )
        self.answered = Counter(
            "dialtone_calls_answered",
            "Calls the far end answered (a person or a machine; inbound: the agent "
            "answered), by direction",
            ["direction"],
            registry=registry,
        )
        self.setup = Counter(
            "dialtone_call_setup",
            "Call setups by result: failure = the trunk, carrier, network or agent failed "
            "before an answer; busy, no answer, declined and invalid numbers are successes",
            ["direction", "result"],
            registry=registry,
        )
        self.dropped = Counter(
            "dialtone_calls_dropped",
            "Calls that ended during an agent turn (agent speaking or thinking) or with "
            "an error, by reason",
            ["direction", "reason"],
            registry=registry,
        )
        self.in_progress = Gauge(
            "dialtone_calls_in_progress",
            "Calls an agent is handling now",
            ["direction"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.post_dial_delay = Histogram(
            "dialtone_post_dial_delay_seconds",
            "Outbound: from sending the dial request to the callee ringing or answering",
            ["stage"],
            buckets=PDD_BUCKETS,
            registry=registry,
        )
        self.turn_response = Histogram(
            "dialtone_turn_response_seconds",
            "End of caller speech to first agent audio, per agent turn",
            ["direction"],
            buckets=TURN_BUCKETS,
            registry=registry,
        )
        self.llm_ttft = Histogram(
            "dialtone_llm_ttft_seconds",
            "LLM time to first token, per agent turn",
            ["direction"],
            buckets=TURN_BUCKETS,
            registry=registry,
        )
        self.tts_ttfb = Histogram(
            "dialtone_tts_ttfb_seconds",
            "TTS time to first audio byte, per agent turn",
            ["direction"],
            buckets=TURN_BUCKETS,
            registry=registry,
        )
        self.duration = Histogram(
            "dialtone_call_duration_seconds",
            "Answered calls: answer to end",
            ["direction"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.answer_decision = Histogram(
            "dialtone_answer_decision_seconds",
            "Outbound: from the far end's first speech to knowing who answered, by answer "
            "(human, voicemail, screening, ivr, unsure)",
            ["answer"],
            buckets=ANSWER_BUCKETS,
            registry=registry,
        )
        self.transfers = Counter(
            "dialtone_transfers",
            "Transfers to a human, by kind (warm, cold) and outcome",
            ["kind", "outcome"],
            registry=registry,
        )
        self.record_writes = Counter(
            "dialtone_call_record_writes",
            "Call record writes by result (error = the database refused; the call went on)",
            ["result"],
            registry=registry,
        )
        for d in Direction:
            self.answered.labels(d.value)
            self.in_progress.labels(d.value)
            for o in CallOutcome:
                self.calls.labels(d.value, o.value)
            for r in ("success", "failure"):
                self.setup.labels(d.value, r)
            for reason in DROP_REASONS:
                self.dropped.labels(d.value, reason)
        for result in ("ok", "error"):
            self.record_writes.labels(result)
        for answer in ANSWERS:
            self.answer_decision.labels(answer)

    def call_closed(self, record: CallRecord, drop_reason: str | None = None) -> None:
        """Count one closed record (the single place calls are counted)."""
        d = record.direction.value
        outcome = record.outcome or CallOutcome.WORKER_LOST
        self.calls.labels(d, outcome.value).inc()
        answered = record.answered_at is not None
        if answered:
            self.answered.labels(d).inc()
        setup_failed = not answered and outcome in (CallOutcome.FAILED, CallOutcome.WORKER_LOST)
        self.setup.labels(d, "failure" if setup_failed else "success").inc()
        if record.dropped:
            reason = drop_reason or (
                "worker_lost" if outcome is CallOutcome.WORKER_LOST else "error"
            )
            self.dropped.labels(d, reason).inc()
        if answered and record.ended_at is not None and record.answered_at is not None:
            self.duration.labels(d).observe(
                max(0.0, (record.ended_at - record.answered_at).total_seconds())
            )
        if record.answer in ANSWERS and record.answer_decided_ms is not None:
            self.answer_decision.labels(record.answer).observe(record.answer_decided_ms / 1000)

    def transfer_finished(self, result: TransferResult, _call_id: str | None = None) -> None:
        self.transfers.labels(result.kind, result.outcome.value).inc()


_default: CallMetrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> CallMetrics:
    """The process's metrics on the shared registry, counting transfers from now on."""
    global _default
    with _default_lock:
        if _default is None:
            from ..metrics import REGISTRY

            _default = CallMetrics(REGISTRY)
            add_transfer_listener(_default.transfer_finished)
        return _default


def watch_transfers(metrics: CallMetrics) -> Callable[[], None]:
    """Count transfers into `metrics` (a test's own registry); returns the remover."""
    return add_transfer_listener(metrics.transfer_finished)


def seconds_between(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return max(0.0, (b - a).total_seconds())


class OpenRecordsCollector(Collector):
    """`dialtone_call_records_open{direction}`: calls in progress according to the store.

    State read at scrape time (the API's `/metrics`), so it is right after any crash once
    the dead agent's lease has run out, where the worker's `dialtone_calls_in_progress`
    gauge can keep a killed job process's +1 until the worker restarts. Same value on
    every API replica: aggregate with `max`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        from ..db.tables import call_records

        family = GaugeMetricFamily(
            "dialtone_call_records_open",
            "Call records still open (calls in progress, by the database)",
            labels=["direction"],
        )
        with self.engine.connect() as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    select(call_records.c.direction, func.count())
                    .where(call_records.c.status == RecordStatus.IN_PROGRESS.value)
                    .group_by(call_records.c.direction)
                ).all()
            )
        for d in Direction:
            family.add_metric([d.value], int(counts.get(d.value, 0)))
        yield family
