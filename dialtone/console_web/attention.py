"""What needs a manager's attention, as sentences with links: messages waiting, callers
who hung up before an answer, calls that could not connect, transfers that did not
reach a person, campaigns the system paused. Read from the per-day counters and two
small indexed queries, so the overview can poll it every half minute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from ..db.engine import read_only
from ..db.tables import campaigns
from .stats import Overview


@dataclass(frozen=True)
class Item:
    text: str
    href: str
    tone: str  # "bad" | "watch" | "info": the colour means this, the words say it


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def attention(engine: Engine, figures: Overview, today: date) -> list[Item]:
    items: list[Item] = []
    if figures.messages_waiting:
        items.append(
            Item(
                f"{_plural(figures.messages_waiting, 'message is', 'messages are')} waiting "
                "for a call back",
                "/messages",
                "watch",
            )
        )
    day = today.isoformat()
    outcomes = figures.today.by_outcome
    if n := outcomes.get("abandoned", 0):
        items.append(
            Item(
                f"{_plural(n, 'caller', 'callers')} hung up before an answer today",
                f"/calls?outcome=abandoned&from={day}",
                "watch",
            )
        )
    for code, words in (("failed", "could not connect"), ("worker_lost", "were cut off")):
        if n := outcomes.get(code, 0):
            items.append(
                Item(
                    f"{_plural(n, 'call', 'calls')} {words} today",
                    f"/calls?outcome={code}&from={day}",
                    "bad",
                )
            )
    failed_transfers = sum(n for k, n in figures.week.transfers.items() if k != "completed")
    if failed_transfers:
        items.append(
            Item(
                f"{_plural(failed_transfers, 'transfer', 'transfers')} did not reach a person "
                "in the last 7 days",
                f"/calls?transfer=failed&from={figures.days[0].isoformat()}",
                "bad",
            )
        )
    c = campaigns.c
    with read_only(engine) as conn:
        paused = conn.execute(
            select(c.id, c.name, c.status_reason)
            .where(c.status == "paused", c.status_reason.is_not(None))
            .order_by(c.updated_at.desc())
            .limit(10)
        ).all()
    for row in paused:
        items.append(
            Item(
                f"Campaign “{row.name}” was paused by the system: {row.status_reason}",
                f"/campaigns/{row.id}",
                "bad",
            )
        )
    return items
