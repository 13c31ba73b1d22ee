"""The overview's figures: what a manager reads first thing in the morning.

All computed from the call records and messages in the database, for a period ending
now (today since midnight UTC, and the last 7 days). Counts are grouped in SQL; the few
percentiles (post-dial delay, turn latency) come from one column each, in Python,
because SQLite has no percentile function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select

from ..db.engine import read_only
from ..db.tables import call_records
from ..messages.inbox import count_waiting
from ..wire import CallOutcome


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


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


def _period(engine: Engine, label: str, since: datetime) -> Period:
    c = call_records.c
    recent = c.started_at >= since
    with read_only(engine) as conn:
        outcomes = {
            (str(o) if o else "in_progress"): int(n)
            for o, n in conn.execute(
                select(c.outcome, func.count()).where(recent).group_by(c.outcome)
            )
        }
        transfers = {
            str(o): int(n)
            for o, n in conn.execute(
                select(c.transfer_outcome, func.count())
                .where(recent, c.transfer_outcome.is_not(None))
                .group_by(c.transfer_outcome)
            )
        }
        dial = conn.execute(
            select(c.started_at, c.ringing_at, c.outcome).where(recent, c.direction == "outbound")
        ).all()
        latency = conn.execute(
            select(c.response_median_ms, c.response_p95_ms).where(
                recent, c.response_median_ms.is_not(None)
            )
        ).all()
    ended = {o: n for o, n in outcomes.items() if o in CallOutcome.__members__.values()}
    total_ended = sum(ended.values())
    failed = sum(n for o, n in ended.items() if CallOutcome(o).setup_failed)
    outbound_ended = [r for r in dial if r.outcome is not None]
    answered = [r for r in outbound_ended if CallOutcome(r.outcome).answered]
    delays = [
        (r.ringing_at - r.started_at).total_seconds() * 1000
        for r in dial
        if r.ringing_at is not None
    ]
    return Period(
        label=label,
        calls=sum(outcomes.values()),
        by_outcome=outcomes,
        transfers=transfers,
        answer_rate=len(answered) / len(outbound_ended) if outbound_ended else None,
        setup_success=(total_ended - failed) / total_ended if total_ended else None,
        post_dial_delay_p50_ms=percentile(delays, 0.5),
        turn_latency_p50_ms=percentile([r[0] for r in latency], 0.5),
        turn_latency_p95_ms=percentile([r[1] for r in latency if r[1] is not None], 0.95),
    )


def overview(engine: Engine, now: datetime) -> Overview:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = midnight - timedelta(days=6)
    days = [(week_start + timedelta(days=i)).date() for i in range(7)]
    c = call_records.c
    day = func.date(c.started_at)
    with read_only(engine) as conn:
        rows = conn.execute(
            select(day, c.outcome, func.count())
            .where(c.started_at >= week_start)
            .group_by(day, c.outcome)
        ).all()
    daily: dict[str, list[int]] = {}
    for when, outcome, n in rows:
        key = str(outcome or "in_progress")
        series = daily.setdefault(key, [0] * 7)
        index = (date.fromisoformat(str(when)[:10]) - days[0]).days
        if 0 <= index < 7:
            series[index] += int(n)
    return Overview(
        today=_period(engine, "Today", midnight),
        week=_period(engine, "Last 7 days", week_start),
        days=days,
        daily=daily,
        messages_waiting=count_waiting(engine),
    )
