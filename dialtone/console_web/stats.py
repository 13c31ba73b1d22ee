"""The overview's figures: what a manager reads first thing in the morning.

For a period ending now (today since midnight UTC, and the last 7 days), read from the
per-day counters in `call_rollup` (see `db.rollup`), never from the call records: a page
view sums a few hundred counters whatever the number of calls. The percentiles (post-dial
delay, turn latency) are nearest-rank over the counters' 1% buckets, so each is within
0.5% of the exact figure over the rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, select

from ..db import rollup
from ..db.engine import read_only
from ..db.tables import call_rollup
from ..messages.inbox import count_waiting
from ..wire import CallOutcome


def nearest_rank(size: int, share: float) -> int:
    """The 1-based rank of the `share` percentile among `size` ordered values."""
    return max(1, min(size, round(share * size + 0.5)))


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    return sorted(values)[nearest_rank(len(values), share) - 1]


def histogram_percentile(counts: Counter[int], share: float) -> float | None:
    """Nearest-rank percentile over bucket counts: the representative of its bucket."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = nearest_rank(total, share)
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return rollup.value(index)
    return None  # unreachable: the counts sum to `total`


@dataclass(frozen=True)
class Period:
    label: str
    calls: int
    by_outcome: dict[str, int]
    transfers: dict[str, int]
    answer_rate: float | None  # outbound calls answered (a person or a machine)
    setup_success: float | None  # ITU-style: every outcome but a setup failure
    post_dial_delay_p50_ms: float | None  # outbound: dial to ringing
    turn_latency_p50_ms: float | None  # median over calls of each call's median
    turn_latency_p95_ms: float | None  # 95th percentile over calls of each call's p95


@dataclass(frozen=True)
class Overview:
    today: Period
    week: Period
    days: list[date]
    daily: dict[str, list[int]] = field(default_factory=dict)  # outcome -> calls per day
    messages_waiting: int = 0


Counters = dict[tuple[date, str, str], int]


def _sum(counters: Counters, kind: str, since: date) -> Counter[str]:
    out: Counter[str] = Counter()
    for (day, k, key), n in counters.items():
        if k == kind and day >= since and n:
            out[key] += n
    return out


def _period(counters: Counters, label: str, since: date) -> Period:
    outcomes = _sum(counters, "outcome", since)
    outbound = _sum(counters, "outbound", since)
    known = set(CallOutcome.__members__.values())
    ended = {o: n for o, n in outcomes.items() if o in known}
    total_ended = sum(ended.values())
    failed = sum(n for o, n in ended.items() if CallOutcome(o).setup_failed)
    outbound_ended = {o: n for o, n in outbound.items() if o in known}
    answered = sum(n for o, n in outbound_ended.items() if CallOutcome(o).answered)
    outbound_total = sum(outbound_ended.values())

    def histogram(kind: str) -> Counter[int]:
        return Counter({int(k): n for k, n in _sum(counters, kind, since).items()})

    return Period(
        label=label,
        calls=sum(outcomes.values()),
        by_outcome=dict(outcomes),
        transfers=dict(_sum(counters, "transfer", since)),
        answer_rate=answered / outbound_total if outbound_total else None,
        setup_success=(total_ended - failed) / total_ended if total_ended else None,
        post_dial_delay_p50_ms=histogram_percentile(histogram("pdd"), 0.5),
        turn_latency_p50_ms=histogram_percentile(histogram("turn_p50"), 0.5),
        turn_latency_p95_ms=histogram_percentile(histogram("turn_p95"), 0.95),
    )


def overview(engine: Engine, now: datetime) -> Overview:
    today = now.astimezone(UTC).date()
    week_start = today - timedelta(days=6)
    days = [week_start + timedelta(days=i) for i in range(7)]
    r = call_rollup.c
    with read_only(engine) as conn:
        counters: Counters = {
            (day, kind, key): int(n)
            for day, kind, key, n in conn.execute(
                select(r.day, r.kind, r.key, r.n).where(r.day >= week_start)
            )
        }
    daily: dict[str, list[int]] = {}
    for (day, kind, key), n in counters.items():
        if kind == "outcome" and n and 0 <= (index := (day - week_start).days) < 7:
            daily.setdefault(key, [0] * 7)[index] += n
    return Overview(
        today=_period(counters, "Today", today),
        week=_period(counters, "Last 7 days", week_start),
        days=days,
        daily=daily,
        messages_waiting=count_waiting(engine),
    )
