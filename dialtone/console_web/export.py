"""`GET /calls.csv`: the calls the list shows, as a spreadsheet, with the same filters.

Streamed a page at a time (the list's keyset query), so a year of calls never sits in
memory; capped at `MAX_ROWS` rows, newest first (narrow the dates for older ones). Times
are in the deployment's zone, written as ISO 8601 with their offset so a spreadsheet
sorts them right. A cell that a spreadsheet would run as a formula (`=`, `@`, or `+`/`-`
not followed by a number) is prefixed with `'`: numbers and names come from callers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from .callquery import CallQuery, CallRow, find_calls

MAX_ROWS = 100_000
PAGE = 1000
HEADER = [
    "started",
    "direction",
    "outcome",
    "persona",
    "from",
    "to",
    "campaign",
    "transfer",
    "call id",
]


def safe_cell(value: str) -> str:
    if value[:1] in ("=", "@", "\t", "\r"):
        return "'" + value
    if value[:1] in ("+", "-") and not value[1:].replace(".", "").isdigit():
        return "'" + value
    return value


def _row(r: CallRow, zone: ZoneInfo) -> list[str]:
    started: datetime = r.started_at
    return [
        safe_cell(v)
        for v in (
            started.astimezone(zone).isoformat(timespec="seconds"),
            r.direction,
            r.outcome or r.status,
            r.persona or "",
            r.caller_number or "",
            r.called_number or "",
            r.campaign_id or "",
            r.transfer_outcome or "",
            r.id,
        )
    ]


def calls_csv(engine: Engine, query: CallQuery, zone: ZoneInfo) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(HEADER)
    yield flush()
    cursor: str | None = None
    sent = 0
    while sent < MAX_ROWS:
        rows, cursor = find_calls(engine, query, limit=min(PAGE, MAX_ROWS - sent), cursor=cursor)
        for r in rows:
            writer.writerow(_row(r, zone))
        sent += len(rows)
        yield flush()
        if cursor is None:
            break
