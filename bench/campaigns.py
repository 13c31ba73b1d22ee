"""Benchmark: CSV import, dispatch rate and API memory of `dialtone serve`.

The API runs as a real subprocess (`python -m dialtone serve`) against a fresh
SQLite file (or `--db-url`, an empty PostgreSQL database) and the LiveKit API double
(started here; it is a stand-in, not LiveKit). Prints figures, asserts nothing:

1. import: POST /v1/campaigns with a CSV of N contacts (multipart), for each N in
   `--sizes`: seconds until the 201, and the API process's resident memory (VmRSS,
   sampled every 20 ms) before, at peak and after. Goal: 100,000 in under 10 s, and a
   peak that does not grow with N.
2. dispatch: a campaign of `--dispatch` contacts on a dialing server with the pace limit
   off (`--cps 1e6`); a reporter plays the reminder agents (an outcome for every
   dispatch, over HTTP) so the concurrency limits keep freeing slots. Attempts
   dispatched per second against the double, and the API's memory during the run.

    .venv/bin/python bench/campaigns.py [--sizes 10000,100000] [--dispatch 3000]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.livekit_double import LiveKitDouble  # noqa: E402

TOKEN = "bench-token-0123456789abcdefGhJkLmNpQr"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class RssSampler:
    """Samples a process's resident memory every 20 ms in a thread."""

    pid: int
    samples: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> float:
        return max(self.samples, default=0.0)


@contextmanager
def serve(
    tmp: Path, double: LiveKitDouble, db_url: str, *, dial: bool, max_concurrent: int = 200
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **os.environ,
        "DIALTONE_API_TOKEN": TOKEN,
        "DIALTONE_DATA_DIR": str(tmp / "data"),
        "DIALTONE_DATABASE_URL": db_url,
        "DIALTONE_LOG_LEVEL": "WARNING",
        "LIVEKIT_URL": double.url,
        "LIVEKIT_API_KEY": double.api_key,
        "LIVEKIT_API_SECRET": double.api_secret,
        "PYTHONPATH": str(REPO),
        "DIALTONE_PERSONA_DIR": str(REPO / "personas"),
        "DIALTONE_TRUNKS_DIR": str(REPO / "trunks"),
    }
    args = [sys.executable, "-m", "dialtone", "serve", "--port", str(port)]
    args += ["--dial" if dial else "--no-dial", "--tick", "0.05", "--cps", "1000000"]
    args += ["--max-concurrent", str(max_concurrent), "--call-timeout", "5"]
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(args, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError((tmp / "server.log").read_text())
            try:
                if httpx.get(f"{base}/openapi.json", headers=AUTH, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.1)
        yield proc, base
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def spec(name: str, **extra: Any) -> dict[str, Any]:
    """Open all day in every contact's zone except 23:59-00:00 (a window cannot be 24 h)."""
    return {
        "name": name,
        "persona": "reminder",
        "outbound_trunk": "ST_bench",
        "caller_id": "+15550100100",
        "timezone": "UTC",
        "window": {
            "start": "00:00",
            "end": "23:59",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        },
        "retry": {"max_attempts": 1},
        **extra,
    }


def contacts_csv(n: int) -> bytes:
    out = io.StringIO()
    out.write("phone,name,timezone,appointment,clinic\n")
    zones = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
    for i in range(n):
        out.write(
            f"+1555{i:07d},Patient {i},{zones[i % 4]},Tue {9 + i % 8}:00,Maple Street Dental\n"
        )
    return out.getvalue().encode()


def post_csv(base: str, n: int, **extra: Any) -> tuple[float, dict[str, Any]]:
    data = contacts_csv(n)
    start = time.perf_counter()
    response = httpx.post(
        f"{base}/v1/campaigns",
        headers=AUTH,
        data={"campaign": json.dumps(spec(f"bench {n}", **extra))},
        files={"contacts": ("contacts.csv", data, "text/csv")},
        timeout=300,
    )
    took = time.perf_counter() - start
    if response.status_code != 201:
        raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return took, body


def bench_import(double: LiveKitDouble, sizes: list[int], db_url: str) -> None:
    print("import: POST /v1/campaigns, multipart CSV (5 columns), API on --no-dial")
    for n in sizes:
        with (
            tempfile.TemporaryDirectory() as d,
            serve(Path(d), double, db_url, dial=False) as (proc, base),
        ):
            before = rss_mb(proc.pid)
            with RssSampler(proc.pid) as sampler:
                took, body = post_csv(base, n)
            after = rss_mb(proc.pid)
            assert body["contacts"]["total"] == n
            start = time.perf_counter()
            with RssSampler(proc.pid) as export:
                csv_bytes = len(
                    httpx.get(
                        f"{base}/v1/campaigns/{body['id']}/results.csv", headers=AUTH, timeout=300
                    ).content
                )
            exported = time.perf_counter() - start
            print(
                f"  {n:>7} contacts: import {took:6.2f} s ({n / took:8.0f} rows/s); "
                f"API RSS {before:5.0f} MB before, peak {sampler.peak:5.0f} MB, "
                f"{after:5.0f} MB after; results.csv {csv_bytes / 1e6:.1f} MB in "
                f"{exported:.2f} s, peak {export.peak:5.0f} MB"
            )
        if db_url:
            reset(db_url)


def reset(db_url: str) -> None:
    """Empty the PostgreSQL database between runs."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


class Reporter(threading.Thread):
    """Plays the reminder agents: reports an outcome for every new dispatch."""

    def __init__(self, double: LiveKitDouble, base: str) -> None:
        super().__init__(daemon=True)
        self.double = double
        self.base = base
        self.stop = threading.Event()
        self.reported = 0
        with double.state.lock:  # dispatches of earlier runs belong to other databases
            self._seen: set[str] = set(double.state.dispatches)

    def run(self) -> None:
        with (
            httpx.Client(base_url=self.base, timeout=30) as http,
            concurrent.futures.ThreadPoolExecutor(8) as pool,
        ):

            def report(meta: dict[str, Any]) -> None:
                auth = {"Authorization": f"Bearer {meta['callback_token']}"}
                http.post(
                    f"/v1/attempts/{meta['attempt_id']}/outcome",
                    json={"outcome": "completed"},
                    headers=auth,
                ).raise_for_status()
                self.reported += 1

            while not self.stop.is_set():
                with self.double.state.lock:
                    new = [
                        d for d in self.double.state.dispatches.values() if d.id not in self._seen
                    ]
                for d in new:
                    self._seen.add(d.id)
                list(pool.map(report, [json.loads(d.metadata) for d in new]))
                time.sleep(0.01)


def bench_dispatch(double: LiveKitDouble, n: int, db_url: str) -> None:
    print(f"dispatch: {n} contacts, pace off (--cps 1e6), max_concurrent 200, tick 0.05 s")
    with (
        tempfile.TemporaryDirectory() as d,
        serve(Path(d), double, db_url, dial=True) as (proc, base),
    ):
        before = double.count("CreateDispatch")
        reporter = Reporter(double, base)
        reporter.start()
        with RssSampler(proc.pid) as sampler:
            _, body = post_csv(base, n, max_concurrent=200, daily_cap=1_000_000)
            start = time.perf_counter()
            marks: list[tuple[float, int]] = []
            while True:
                view = httpx.get(f"{base}/v1/campaigns/{body['id']}", headers=AUTH).json()
                marks.append((time.perf_counter() - start, view["attempts"]))
                if view["status"] == "completed":
                    break
                if time.perf_counter() - start > 600:
                    raise RuntimeError(f"not finished after 600 s: {view['contacts']}")
                time.sleep(0.2)
        took = time.perf_counter() - start
        reporter.stop.set()
        reporter.join()
        dispatched = double.count("CreateDispatch") - before
        half = next(t for t, a in marks if a >= n // 2)
        print(
            f"  {dispatched} dispatches in {took:.1f} s: {dispatched / took:.0f} attempts/s "
            f"(first half {n // 2 / half:.0f}/s), every contact completed; "
            f"API RSS peak {sampler.peak:.0f} MB, at end {sampler.samples[-1]:.0f} MB"
        )
        if len(sampler.samples) > 10:
            q = len(sampler.samples) // 4
            quarters = [max(sampler.samples[i * q : (i + 1) * q]) for i in range(4)]
            print("  RSS peak per quarter of the run: " + ", ".join(f"{m:.0f}" for m in quarters))


def bench_burst(double: LiveKitDouble, campaigns: int, db_url: str) -> None:
    """Dispatch only: enough concurrency for every contact, so no outcome is waited for."""
    n = campaigns * 200
    print(
        f"dispatch burst: {campaigns} campaigns x 200 contacts, max_concurrent 200 each, "
        f"global {n}, pace off; no outcomes"
    )
    with (
        tempfile.TemporaryDirectory() as d,
        serve(Path(d), double, db_url, dial=False) as (_, base),
    ):
        for i in range(campaigns):
            data = "phone,name,appointment\n" + "".join(
                f"+1556{i:03d}{j:04d},P{j},Fri\n" for j in range(200)
            )
            response = httpx.post(
                f"{base}/v1/campaigns",
                headers=AUTH,
                data={"campaign": json.dumps(spec(f"burst {i}", max_concurrent=200))},
                files={"contacts": ("c.csv", data.encode(), "text/csv")},
                timeout=60,
            )
            response.raise_for_status()
        db = db_url or f"sqlite:///{Path(d) / 'data' / 'dialtone.db'}"
        # the same database, now with a dialing server
        with serve(Path(d), double, db, dial=True, max_concurrent=n) as (proc, _):
            before = double.count("CreateDispatch")
            start = time.perf_counter()
            with RssSampler(proc.pid) as sampler:
                while double.count("CreateDispatch") - before < n:
                    if time.perf_counter() - start > 300:
                        raise RuntimeError("burst not finished after 300 s")
                    time.sleep(0.01)
            took = time.perf_counter() - start
        print(
            f"  {n} dispatches in {took:.2f} s from the server's start: {n / took:.0f} "
            f"attempts/s; API RSS peak {sampler.peak:.0f} MB"
        )
    if db_url:
        reset(db_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dispatch", type=int, default=3000)
    parser.add_argument("--burst", type=int, default=10, help="campaigns of 200 (0: skip)")
    parser.add_argument("--db-url", default="", help="an EMPTY PostgreSQL database (wiped)")
    parser.add_argument(
        "--postgres", action="store_true", help="run on a throwaway PostgreSQL cluster"
    )
    args = parser.parse_args()
    if args.postgres:
        from tests.postgres import running_cluster

        with running_cluster() as cluster:
            args.db_url = cluster.create_database()
            run(args)
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    print(
        f"database: {'PostgreSQL' if args.db_url else 'SQLite (WAL, synchronous=FULL)'}; "
        f"{os.cpu_count()} CPUs"
    )
    with LiveKitDouble() as double:
        bench_import(double, [int(s) for s in args.sizes.split(",")], args.db_url)
        if args.burst:
            bench_burst(double, args.burst, args.db_url)
        if args.dispatch:
            bench_dispatch(double, args.dispatch, args.db_url)


if __name__ == "__main__":
    main()
