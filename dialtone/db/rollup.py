"""The overview's figures kept per UTC day, so a page view reads a few hundred rows.

Counting a million call records on every page view took seconds; `call_rollup` holds,
per UTC day of `started_at`, one counter per (kind, key):

- `outcome`: calls by outcome (`in_progress` while open); `outbound`: the same for
  outbound calls only (answer rate); `transfer`: calls by transfer outcome;
- `pdd`, `turn_p50`, `turn_p95`: histograms of post-dial delay (outbound, dial to
  ringing), of each call's median turn latency and of each call's p95, in logarithmic
  buckets 1% wide (`bucket`), so a percentile read from them is within 0.5% of the
  exact one over the rows (`value` is the bucket's geometric middle).

It holds counts only, never a number or a transcript: retention has nothing to redact
here. The record store changes it in the same transaction as the record (`apply` with
the row before and after the write), so the two never disagree; `rebuild` recounts it
from the rows (migration 0003 backfills with it, and so can an operator). The overview's
periods (today, the last 7 days) start at UTC midnight, so days are fine enough. A
change to `bucket` or to what is counted needs a migration that calls `rebuild`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from .tables import call_records, call_rollup

Key = tuple[date, str, str]
_RATIO = math.log(1.01)

#: The call-record columns the rollup is computed from.
COLUMNS = (
    call_records.c.started_at,
    call_records.c.direction,
    call_records.c.outcome,
    call_records.c.transfer_outcome,
    call_records.c.ringing_at,
    call_records.c.response_median_ms,
    call_records.c.response_p95_ms,
)
HISTOGRAMS = ("pdd", "turn_p50", "turn_p95")


def bucket(ms: float) -> int:
    """The 1%-wide logarithmic bucket of a duration; everything under 1 ms is bucket 0."""
    return 0 if ms < 1.0 else 1 + math.floor(math.log(ms) / _RATIO)


def value(index: int) -> float:
    """A bucket's representative: its geometric middle, at most 0.5% from any member."""
    return 0.0 if index == 0 else round(math.exp((index - 0.5) * _RATIO), 1)


def _get(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name)


def contributions(row: Any) -> list[Key]:
    """The counters one call record adds to (a mapping or a row of `COLUMNS`)."""
    started: datetime = _get(row, "started_at")
    day = started.astimezone(UTC).date()
    outcome = _get(row, "outcome") or "in_progress"
    keys: list[Key] = [(day, "outcome", outcome)]
    transfer = _get(row, "transfer_outcome")
    if transfer is not None:
        keys.append((day, "transfer", transfer))
    if _get(row, "direction") == "outbound":
        keys.append((day, "outbound", outcome))
        ringing: datetime | None = _get(row, "ringing_at")
        if ringing is not None:
            delay = (ringing - started).total_seconds() * 1000
            keys.append((day, "pdd", str(bucket(delay))))
    median = _get(row, "response_median_ms")
    if median is not None:
        keys.append((day, "turn_p50", str(bucket(median))))
        p95 = _get(row, "response_p95_ms")
        if p95 is not None:
            keys.append((day, "turn_p95", str(bucket(p95))))
    return keys


def count(rows: Iterable[Any]) -> Counter[Key]:
    counts: Counter[Key] = Counter()
    for row in rows:
        counts.update(contributions(row))
    return counts


def apply(conn: Connection, *, removed: Iterable[Any] = (), added: Iterable[Any] = ()) -> None:
    """Move the counters from the rows as they were to the rows as they are now."""
    delta = count(added)
    delta.subtract(count(removed))
    changes = [
        {"day": k[0], "kind": k[1], "key": k[2], "n": n} for k, n in sorted(delta.items()) if n
    ]
    if not changes:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(call_rollup)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "kind", "key"],
        set_={"n": call_rollup.c.n + statement.excluded.n},
    )
    conn.execute(statement, changes)


def rebuild(conn: Connection, *, batch: int = 50_000) -> int:
    """Recount every counter from the call records; returns the records counted."""
    conn.execute(delete(call_rollup))
    counts: Counter[Key] = Counter()
    seen = 0
    result = conn.execute(select(*COLUMNS).execution_options(yield_per=batch))
    for rows in result.partitions():  # streamed: a million rows never sit in memory
        counts.update(count(rows))
        seen += len(rows)
    rows_out = [{"day": k[0], "kind": k[1], "key": k[2], "n": n} for k, n in counts.items()]
    for start in range(0, len(rows_out), batch):
        conn.execute(insert(call_rollup), rows_out[start : start + batch])
    return seen
