"""Benchmark: the web console's pages over a large store: server time and bytes sent.

`--calls` call records (default 1,000,000, spread over the last 30 days so the overview's
today and 7-day figures have work to do) and `--messages` messages (default 100,000, one
in twenty still waiting) are bulk-inserted with SQLAlchemy Core (executemany, one
transaction per batch). The console is then driven through the real app (`create_app` +
`install_console`, in process with `TestClient`: the server's own stack, without the
network), signed in once, and every page is fetched `--repeat` times: median and p95 of
its server time in milliseconds, and the bytes it sends. The overview's bytes include the
scripts and styles it loads. Goals (issue 11): p95 under 200 ms, overview under 300 KB.

    .venv/bin/python bench/console.py [--calls 1000000] [--messages 100000] [--repeat 20]
    .venv/bin/python bench/console.py --database-url postgresql+psycopg://...
    .venv/bin/python bench/console.py --keep-db /tmp/console-bench.db  # fill once, reuse

`--keep-db PATH` keeps the SQLite file between runs: a file that already holds call
records is upgraded (as a deployment would be) and measured without loading again.

Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, Table, insert, text

from dialtone.config import load_settings
from dialtone.console_web import install_console
from dialtone.db.engine import make_engine, sqlite_url
from dialtone.db.tables import call_records, messages
from dialtone.db.upgrade import upgrade
from dialtone.http.server import create_app
from dialtone.records.store import RecordStore

TOKEN = "bench-token-0123456789abcdef"
DAYS = 30
OUTCOMES = {
    "completed": 55,
    "no_answer": 12,
    "voicemail": 8,
    "transferred": 8,
    "abandoned": 6,
    "busy": 5,
    "failed": 6,
}
RowMaker = Callable[[random.Random, int, datetime], dict[str, Any]]
TRANSCRIPT = (
    '[{"at": 1.0, "speaker": "agent", "text": "Thank you for calling Maple Street Dental."},'
    ' {"at": 3.5, "speaker": "caller", "text": "Hi, I would like to move my appointment."}]'
)


def call_row(rng: random.Random, _i: int, now: datetime) -> dict[str, Any]:
    started = now - timedelta(seconds=rng.random() * DAYS * 86400)
    outcome = rng.choices(list(OUTCOMES), list(OUTCOMES.values()))[0]
    answered = outcome in {"completed", "voicemail", "transferred"}
    outbound = rng.random() < 0.4
    return {
        "id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "status": "ended",
        "direction": "outbound" if outbound else "inbound",
        "sip_call_id": f"SCL_{rng.getrandbits(48):x}",
        "room": f"call-{rng.getrandbits(40):x}",
        "caller_number": f"+1555{rng.randrange(10**7):07d}",
        "called_number": "+15550100100",
        "persona": "reminder" if outbound else "receptionist",
        "started_at": started,
        "ringing_at": started + timedelta(seconds=1) if outbound else None,
        "answered_at": started + timedelta(seconds=3) if answered else None,
        "ended_at": started + timedelta(seconds=rng.randrange(10, 600)),
        "outcome": outcome,
        "hangup_by": "caller",
        # One transfer in five does not reach a person (no answer, busy).
        "transfer_outcome": (
            rng.choice(["completed"] * 8 + ["no_answer", "busy"])
            if outcome == "transferred"
            else None
        ),
        "dropped": False,
        "tools": "[]",
        "turns": 4,
        "response_median_ms": rng.uniform(600, 1000),
        "response_p95_ms": rng.uniform(1000, 1800),
        "interruptions": 0,
        "transcript": TRANSCRIPT,
        "closed_by": "worker",
        "updated_at": started,
    }


def message_row(rng: random.Random, i: int, now: datetime) -> dict[str, Any]:
    created = now - timedelta(seconds=rng.random() * DAYS * 86400)
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "created_at": created,
        "persona": "receptionist",
        "caller_number": f"+1555{rng.randrange(10**7):07d}",
        "call_id": f"SCL_{rng.getrandbits(48):x}",
        "room": f"call-{rng.getrandbits(40):x}",
        "message": "Please call me back about my appointment next week.",
        "handled_at": None if i % 20 == 0 else created + timedelta(hours=2),  # 1 in 20 waits
        "caller_name": None if i % 3 else "Ann Lee",
    }


def bulk_load(
    engine: Engine, table: Table, n: int, row: RowMaker, now: datetime, batch: int = 20_000
) -> float:
    """`n` rows made by `row`, one executemany per `batch`; seconds taken. Call records
    go through the record store's bulk write, which keeps the overview's counters."""
    rng = random.Random(7)
    t0 = time.perf_counter()
    done = 0
    while done < n:
        rows = [row(rng, done + i, now) for i in range(min(batch, n - done))]
        if table is call_records:
            RecordStore(engine).insert_many(rows)
        else:
            with engine.begin() as conn:
                conn.execute(insert(table), rows)
        done += len(rows)
        print(f"    {table.name} loaded {done:,}", end="\r", flush=True)
    print()
    return time.perf_counter() - t0


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def sign_in(client: TestClient) -> None:
    page = client.get("/login")
    nonce = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert nonce is not None, "the sign-in page has no CSRF field"
    done = client.post("/login", data={"password": TOKEN, "csrf": nonce.group(1)})
    assert done.status_code in (200, 303), done.text


def assets_bytes(client: TestClient, html: str) -> tuple[int, int]:
    """Raw and gzip bytes of the scripts and styles a page loads from this server."""
    raw = zipped = 0
    for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/console-static/[^"]+)"', html):
        body = client.get(src).content
        raw += len(body)
        zipped += len(gzip.compress(body))
    return raw, zipped


def measure(client: TestClient, paths: dict[str, str], repeat: int) -> None:
    print(f"  {'page':<26}{'median ms':>10}{'p95 ms':>9}{'bytes':>10}{'gzip':>9}{'+assets':>10}")
    for name, path in paths.items():
        times: list[float] = []
        body = b""
        for _ in range(repeat):
            t0 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (path, response.status_code)
            body = response.content
        extra = ""
        if name == "overview":
            raw, _zipped = assets_bytes(client, body.decode())
            extra = f"{len(body) + raw:>10,}"
        print(
            f"  {name:<26}{statistics.median(times):>10.1f}{p95(times):>9.1f}"
            f"{len(body):>10,}{len(gzip.compress(body)):>9,}{extra}"
        )


def load(engine: Engine, *, calls: int, messages_: int, now: datetime) -> None:
    took = bulk_load(engine, call_records, calls, call_row, now)
    print(f"  {calls:,} call records in {took:.1f} s")
    took = bulk_load(engine, messages, messages_, message_row, now)
    print(f"  {messages_:,} messages in {took:.1f} s")
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument(
        "--keep-db", type=Path, default=None, help="a SQLite file to fill once and reuse"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dialtone-bench-console-") as folder:
        url = args.database_url or sqlite_url(Path(folder))
        if args.keep_db is not None:
            url = f"sqlite:///{args.keep_db.resolve()}"
        engine = make_engine(url)
        t0 = time.perf_counter()
        upgraded = upgrade(engine)
        print(f"database: {engine.url.render_as_string(hide_password=True)}")
        print(f"  upgrade {upgraded.before} -> {upgraded.head} in {time.perf_counter() - t0:.1f} s")
        with engine.connect() as conn:
            filled = conn.execute(text("SELECT COUNT(*) FROM call_records")).scalar_one()
        now = datetime.now(UTC)
        if filled:
            print(f"  reusing {filled:,} call records")
        else:
            load(engine, calls=args.calls, messages_=args.messages, now=now)
        with engine.connect() as conn:
            some_id = conn.execute(text("SELECT id FROM call_records LIMIT 1")).scalar_one()
        settings = load_settings(api_token=SecretStr(TOKEN), data_dir=Path(folder))
        app = create_app(settings, engine)
        install_console(app)
        with TestClient(app) as client:
            sign_in(client)
            measure(
                client,
                {
                    "overview": "/",
                    "calls": "/calls",
                    "calls ?outcome=busy": "/calls?outcome=busy",
                    "calls ?direction&persona": "/calls?direction=outbound&persona=reminder",
                    "calls ?number": "/calls?number=%2B15550001234",
                    "calls ?number=1234": "/calls?number=1234",  # the last digits
                    "calls ?number=line": "/calls?number=%2B15550100100",  # every call
                    "calls ?number=0100": "/calls?number=0100",  # every call, by its end
                    "calls ?transfer=failed": "/calls?transfer=failed",
                    "call": f"/calls/{some_id}",
                    "messages": "/messages",
                    "messages ?q=appointment": "/messages?q=appointment",
                    "messages ?q=nowhere": "/messages?q=nowhere",  # no match: a full scan
                    "attention (polled)": "/attention",
                    "campaigns": "/campaigns",
                    "dnc": "/dnc",
                    "audit": "/audit",
                    "calls.csv ?number=1234": "/calls.csv?number=1234",
                },
                args.repeat,
            )
        engine.dispose()


if __name__ == "__main__":
    main()
