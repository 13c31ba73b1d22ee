"""Benchmark: call record write rate, and the latency of `GET /v1/calls` over 1,000,000
records, on SQLite and on PostgreSQL.

1. write rate: what every call costs the store, done the way the agent does it: open
   the partial record (with its lease), then close it with the whole record (a 12-line
   transcript, tools, latency figures); `--writes` calls one after the other from one
   process. SQLite is the default file (WAL, synchronous=FULL); PostgreSQL is a
   throwaway cluster started here with its default durability (fsync on).
2. list latency: `--records` rows are bulk-loaded (90 days of calls, realistic mixes of
   direction and outcome), then `GET /v1/calls` is called through the real FastAPI app
   (in process, `TestClient`: the API's own stack, without the network) for each query
   shape below, `--repeat` times each; median and p95 in milliseconds. Goal: p95 under
   50 ms with the indexes the filters use.

    .venv/bin/python bench/records.py [--records 1000000] [--writes 2000] [--only sqlite]

Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from dialtone.config import load_settings
from dialtone.db.engine import make_engine, sqlite_url
from dialtone.db.upgrade import upgrade
from dialtone.http.server import create_app
from dialtone.records.models import CallOutcome, Direction, TranscriptLine
from dialtone.records.store import CallEnd, CallStart, RecordStore

TOKEN = "bench-token-0123456789abcdef"
END = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 90
OUTCOMES = [
    (CallOutcome.COMPLETED, 55.0),
    (CallOutcome.NO_ANSWER, 12.0),
    (CallOutcome.VOICEMAIL, 8.0),
    (CallOutcome.TRANSFERRED, 8.0),
    (CallOutcome.ABANDONED, 6.0),
    (CallOutcome.BUSY, 5.0),
    (CallOutcome.FAILED, 3.0),
    (CallOutcome.DECLINED, 1.5),
    (CallOutcome.INVALID_NUMBER, 1.0),
    (CallOutcome.WORKER_LOST, 0.5),
]
TRANSCRIPT = [
    TranscriptLine(at=i * 4.0, speaker="caller" if i % 2 else "agent", text=f"line {i} " * 8)
    for i in range(12)
]


def shapes() -> dict[str, dict[str, Any]]:
    day = END - timedelta(days=10)
    return {
        "newest 50, no filter": {},
        "direction=outbound": {"direction": "outbound"},
        "outcome=failed (3 %)": {"outcome": "failed"},
        "inbound + worker_lost (0.3 %)": {"direction": "inbound", "outcome": "worker_lost"},
        "one day (from/to)": {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()},
        "busy in one week": {
            "outcome": "busy",
            "from": (day - timedelta(days=7)).isoformat(),
            "to": day.isoformat(),
        },
    }


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# --- PostgreSQL -----------------------------------------------------------------------


def _pg_bin() -> Path:
    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (directory / "initdb").is_file():
            return directory
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")


def _as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway cluster with PostgreSQL's default durability; yields a SQLAlchemy URL."""
    pg_bin = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="dialtone-bench-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run(
        _as_pg(
            [
                str(pg_bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "dialtone",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-k {root} -p {port} -c listen_addresses='' -c shared_buffers=256MB"
    pg_ctl = [str(pg_bin / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        _as_pg([*pg_ctl, "-o", options, "-l", str(root / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://dialtone@/postgres?host={root}&port={port}"
    finally:
        subprocess.run(_as_pg([*pg_ctl, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# --- the measurements -----------------------------------------------------------------


def write_rate(store: RecordStore, n: int) -> float:
    start = CallStart(
        Direction.INBOUND,
        room="bench",
        sip_call_id="SCL_bench",
        caller_number="+15551230000",
        called_number="+15550100100",
        persona="receptionist",
    )
    t0 = time.perf_counter()
    for i in range(n):
        now = END + timedelta(seconds=i)
        record_id = store.open(start, now, timedelta(seconds=60))
        store.close(
            record_id,
            CallEnd(
                outcome=CallOutcome.COMPLETED,
                ended_at=now + timedelta(seconds=50),
                answered_at=now,
                tools=["take_message", "end_call"],
                transcript=TRANSCRIPT,
            ),
        )
    return n / (time.perf_counter() - t0)


def bulk_load(store: RecordStore, n: int, batch: int = 20_000) -> float:
    rng = random.Random(7)
    outcomes = [o.value for o, _ in OUTCOMES]
    weights = [w for _, w in OUTCOMES]
    transcript = json.dumps([line.model_dump() for line in TRANSCRIPT[:2]])
    span = DAYS * 86400
    t0 = time.perf_counter()
    done = 0
    while done < n:
        rows = []
        for _ in range(min(batch, n - done)):
            started = END - timedelta(seconds=rng.random() * span)
            outcome = rng.choices(outcomes, weights)[0]
            rows.append(
                {
                    "id": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "status": "ended",
                    "direction": "inbound" if rng.random() < 0.6 else "outbound",
                    "sip_call_id": f"SCL_{rng.getrandbits(48):x}",
                    "room": f"call-{rng.getrandbits(40):x}",
                    "caller_number": f"+1555{rng.randrange(10**7):07d}",
                    "called_number": "+15550100100",
                    "persona": "receptionist",
                    "started_at": started,
                    "answered_at": started + timedelta(seconds=1),
                    "ended_at": started + timedelta(seconds=rng.randrange(10, 600)),
                    "outcome": outcome,
                    "hangup_by": "caller",
                    "dropped": False,
                    "tools": "[]",
                    "turns": 4,
                    "response_median_ms": 800.0,
                    "response_p95_ms": 1100.0,
                    "interruptions": 0,
                    "transcript": transcript,
                    "closed_by": "worker",
                    "updated_at": started,
                }
            )
        store.insert_many(rows)
        done += len(rows)
        print(f"    loaded {done:,}", end="\r", flush=True)
    print()
    return time.perf_counter() - t0


def list_latency(client: TestClient, repeat: int) -> dict[str, tuple[float, float, int]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    out: dict[str, tuple[float, float, int]] = {}
    for name, params in shapes().items():
        times: list[float] = []
        rows = 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            response = client.get("/v1/calls", params={**params, "limit": 50}, headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
            rows = len(response.json()["items"])
        out[name] = (statistics.median(times), p95(times), rows)
    # Deep paging: follow next_cursor 40 pages (2,000 calls back).
    times = []
    for _ in range(max(1, repeat // 20)):
        cursor = None
        for _ in range(40):
            params: dict[str, Any] = {"limit": 50}
            if cursor:
                params["cursor"] = cursor
            t0 = time.perf_counter()
            response = client.get("/v1/calls", params=params, headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
            cursor = response.json()["next_cursor"]
    out["pages 1-40 by cursor"] = (statistics.median(times), p95(times), 50)
    return out


def analyze(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def run(backend: str, url: str, args: argparse.Namespace, work: Path) -> None:
    print(f"\n== {backend} ==")
    engine = make_engine(url)
    upgrade(engine)
    store = RecordStore(engine)
    rate = write_rate(store, args.writes)
    print(f"  write rate: {rate:,.0f} calls/s (open + close per call, {args.writes:,} calls)")
    seconds = bulk_load(store, args.records)
    print(f"  bulk load of {args.records:,} records: {seconds:.0f} s")
    analyze(engine)
    settings = load_settings(api_token=SecretStr(TOKEN), data_dir=work / "data")
    app = create_app(settings, engine)
    with TestClient(app) as client:
        client.get("/v1/calls", headers={"Authorization": f"Bearer {TOKEN}"})  # warm up
        figures = list_latency(client, args.repeat)
    print(
        f"  GET /v1/calls over {args.records + args.writes:,} records, {args.repeat} requests each:"
    )
    for name, (median, high, rows) in figures.items():
        print(f"    {name:<32} median {median:6.1f} ms   p95 {high:6.1f} ms   ({rows} rows)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="dialtone-bench-records-") as scratch:
        work = Path(scratch)
        os.chdir(work)  # no stray .env
        if args.only in (None, "sqlite"):
            run("SQLite (WAL, synchronous=FULL)", sqlite_url(work / "data"), args, work)
        if args.only in (None, "postgresql"):
            with postgres() as url:
                run("PostgreSQL (default durability)", url, args, work)


if __name__ == "__main__":
    main()
