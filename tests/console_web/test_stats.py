"""The overview read from the per-day counters equals the overview computed from the rows.

Records are written through every write path the record store has (one finished write,
open then close, open and left open, closed by the lease reaper, created by LiveKit's
caller-left webhook, the bulk insert), so a path that forgets the counters fails here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from dialtone.console_web.stats import Overview, Period, overview, percentile
from dialtone.db import rollup
from dialtone.db.engine import new_engine, sqlite_url
from dialtone.db.tables import call_records, call_rollup
from dialtone.db.upgrade import upgrade
from dialtone.records.models import CallOutcome, Direction, LatencySummary
from dialtone.records.retention import Keep, Retention
from dialtone.records.store import CallEnd, CallStart, RecordStore

NOW = datetime(2026, 6, 10, 15, 30, tzinfo=UTC)
PATHS = ("closed", "open_close", "open", "lease", "webhook", "bulk")


@dataclass(frozen=True)
class Spec:
    path: str
    back_s: int  # started this long before NOW (negative: a clock ahead of ours)
    direction: Direction
    outcome: CallOutcome
    transfer: str | None
    ringing_ms: int | None
    median_ms: float | None
    p95_ms: float | None


specs = st.builds(
    Spec,
    path=st.sampled_from(PATHS),
    back_s=st.integers(-3600, 9 * 86400),
    direction=st.sampled_from(list(Direction)),
    outcome=st.sampled_from(list(CallOutcome)),
    transfer=st.none() | st.sampled_from(["answered", "no_answer", "failed"]),
    ringing_ms=st.none() | st.integers(-500, 30_000),
    median_ms=st.none() | st.floats(0, 20_000, allow_nan=False),
    p95_ms=st.none() | st.floats(0, 40_000, allow_nan=False),
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = new_engine(sqlite_url(tmp_path_factory.mktemp("stats")))
    upgrade(eng)
    yield eng
    eng.dispose()


def write(store: RecordStore, spec: Spec) -> None:
    started = NOW - timedelta(seconds=spec.back_s)
    start = CallStart(spec.direction, caller_number="+15550100222", called_number="+15550100100")
    end = CallEnd(
        outcome=spec.outcome,
        ended_at=started + timedelta(seconds=60),
        ringing_at=None
        if spec.ringing_ms is None
        else started + timedelta(milliseconds=spec.ringing_ms),
        transfer_outcome=spec.transfer,
        latency=LatencySummary(response_median_ms=spec.median_ms, response_p95_ms=spec.p95_ms),
    )
    if spec.path == "closed":
        store.insert_closed(start, end, started)
    elif spec.path in ("open_close", "open", "lease"):
        lease = timedelta(seconds=1 if spec.path == "lease" else 30 * 86400)
        record_id = store.open(start, started, lease)
        if spec.path == "open_close":
            store.close(record_id, end)
        elif spec.path == "lease":
            store.close_expired(started + timedelta(seconds=2))
    elif spec.path == "webhook":
        store.caller_left(replace(start, sip_call_id=f"SCL_{spec.back_s}"), started, "bye")
    else:
        store.insert_many(
            [
                {
                    "id": uuid.uuid4().hex,
                    "status": "ended",
                    "direction": spec.direction.value,
                    "started_at": started,
                    "ringing_at": end.ringing_at,
                    "outcome": spec.outcome.value,
                    "transfer_outcome": spec.transfer,
                    "response_median_ms": spec.median_ms,
                    "response_p95_ms": spec.p95_ms,
                    "dropped": False,
                    "tools": "[]",
                    "turns": 0,
                    "interruptions": 0,
                    "updated_at": started,
                }
            ]
        )


def from_rows(engine: Engine, now: datetime) -> tuple[Overview, dict[str, list[float]]]:
    """The overview straight from the call records (the computation the counters replace),
    with each percentile as its 1% bucket's representative; and the exact percentiles."""
    today = now.date()
    week_start = today - timedelta(days=6)
    with engine.connect() as conn:
        rows = conn.execute(select(*rollup.COLUMNS)).all()
    exact: dict[str, list[float]] = {}

    def period(label: str, since: date) -> Period:
        mine = [r for r in rows if r.started_at.date() >= since]
        by_outcome: dict[str, int] = {}
        transfers: dict[str, int] = {}
        for r in mine:
            key = r.outcome or "in_progress"
            by_outcome[key] = by_outcome.get(key, 0) + 1
            if r.transfer_outcome is not None:
                transfers[r.transfer_outcome] = transfers.get(r.transfer_outcome, 0) + 1
        ended = [CallOutcome(r.outcome) for r in mine if r.outcome is not None]
        out_ended = [
            CallOutcome(r.outcome) for r in mine if r.direction == "outbound" and r.outcome
        ]
        delays = [
            (r.ringing_at - r.started_at).total_seconds() * 1000
            for r in mine
            if r.direction == "outbound" and r.ringing_at is not None
        ]
        medians = [r.response_median_ms for r in mine if r.response_median_ms is not None]
        p95s = [
            r.response_p95_ms
            for r in mine
            if r.response_median_ms is not None and r.response_p95_ms is not None
        ]
        figures = [percentile(delays, 0.5), percentile(medians, 0.5), percentile(p95s, 0.95)]
        exact[label] = [f for f in figures if f is not None]
        bucketed = [None if f is None else rollup.value(rollup.bucket(f)) for f in figures]
        return Period(
            label=label,
            calls=len(mine),
            by_outcome=by_outcome,
            transfers=transfers,
            answer_rate=sum(o.answered for o in out_ended) / len(out_ended) if out_ended else None,
            setup_success=sum(not o.setup_failed for o in ended) / len(ended) if ended else None,
            post_dial_delay_p50_ms=bucketed[0],
            turn_latency_p50_ms=bucketed[1],
            turn_latency_p95_ms=bucketed[2],
        )

    days = [week_start + timedelta(days=i) for i in range(7)]
    daily: dict[str, list[int]] = {}
    for r in rows:
        index = (r.started_at.date() - week_start).days
        if 0 <= index < 7:
            daily.setdefault(r.outcome or "in_progress", [0] * 7)[index] += 1
    return (
        Overview(
            today=period("Today", today),
            week=period("Last 7 days", week_start),
            days=days,
            daily=daily,
        ),
        exact,
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(specs, max_size=25))
def test_the_overview_from_counters_equals_the_overview_from_rows(
    engine: Engine, records: list[Spec]
) -> None:
    with engine.begin() as conn:
        conn.execute(delete(call_records))
        conn.execute(delete(call_rollup))
    store = RecordStore(engine)
    for spec in records:
        write(store, spec)

    expected, exact = from_rows(engine, NOW)
    got = overview(engine, NOW)

    assert replace(got, messages_waiting=0) == expected
    for period in (got.today, got.week):
        shown = [
            period.post_dial_delay_p50_ms,
            period.turn_latency_p50_ms,
            period.turn_latency_p95_ms,
        ]
        for true, figure in zip(
            exact[period.label], [f for f in shown if f is not None], strict=True
        ):
            if true >= 1.0:
                assert abs(figure - true) <= 0.005 * true + 0.1


def test_the_counters_keep_no_phone_number(tmp_path: Path) -> None:
    eng = new_engine(sqlite_url(tmp_path))
    upgrade(eng)
    store = RecordStore(eng, Retention(numbers=Keep.KEEP))
    write(
        store,
        Spec("closed", 60, Direction.INBOUND, CallOutcome.COMPLETED, None, None, 800.0, 1200.0),
    )
    with eng.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(select(call_rollup)) for v in row)
    assert stored and "5550100" not in stored and "0010555" not in stored
    eng.dispose()


def test_rebuild_recounts_what_the_writes_counted(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(call_records))
        conn.execute(delete(call_rollup))
    store = RecordStore(engine)
    for i, path in enumerate(PATHS):
        write(
            store,
            Spec(
                path, 3600 * i, Direction.OUTBOUND, CallOutcome.BUSY, "answered", 900, 700.0, 990.0
            ),
        )
    with engine.connect() as conn:
        counted = {tuple(r[:3]): r[3] for r in conn.execute(select(call_rollup)) if r[3]}
    with engine.begin() as conn:
        assert rollup.rebuild(conn) == len(PATHS)
    with engine.connect() as conn:
        rebuilt = {tuple(r[:3]): r[3] for r in conn.execute(select(call_rollup))}
    assert rebuilt == counted
