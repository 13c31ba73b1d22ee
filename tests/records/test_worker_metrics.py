"""The worker's metrics across job processes, and the API's store-side gauge."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, multiprocess
from sqlalchemy import Engine

from dialtone.records.metrics import OpenRecordsCollector
from dialtone.records.models import Direction
from dialtone.records.store import CallStart, RecordStore

from .conftest import Clock

JOB = textwrap.dedent(
    """
    import asyncio
    from dialtone.records.metrics import default_metrics
    from dialtone.records.models import Direction, HangupBy
    from dialtone.records.recorder import CallRecorder
    from dialtone.records.store import CallStart

    async def main():
        recorder = CallRecorder(None, CallStart(Direction.INBOUND, room="r"),
                                metrics=default_metrics())
        await recorder.start()
        recorder.answered()
        recorder.hung_up(HangupBy.AGENT, "agent ended the call")
        await recorder.finish()

    asyncio.run(main())
    """
)


def test_calls_in_job_processes_reach_the_worker_endpoint(tmp_path: Path) -> None:
    """Each job process writes its own files; the worker's /metrics sums them (what
    livekit-agents' prometheus server does with PROMETHEUS_MULTIPROC_DIR)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parents[2]
    for _ in range(2):  # two calls, two job processes
        subprocess.run([sys.executable, "-c", JOB], env=env, cwd=root, check=True, timeout=60)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))  # type: ignore[no-untyped-call]
    labels = {"direction": "inbound", "outcome": "completed"}
    assert registry.get_sample_value("dialtone_calls_total", labels) == 2
    assert registry.get_sample_value("dialtone_calls_answered_total", {"direction": "inbound"}) == 2
    in_progress = registry.get_sample_value("dialtone_calls_in_progress", {"direction": "inbound"})
    assert in_progress == 0  # summed over live jobs (livesum); each went +1 then -1


def test_open_records_are_counted_from_the_store(engine: Engine, clock: Clock) -> None:
    store = RecordStore(engine)
    for room in ("a", "b"):
        store.open(CallStart(Direction.INBOUND, room=room), clock(), timedelta(seconds=60))
    store.open(CallStart(Direction.OUTBOUND, room="c"), clock(), timedelta(seconds=1))
    registry = CollectorRegistry()
    registry.register(OpenRecordsCollector(engine))

    def open_now(direction: str) -> float | None:
        return registry.get_sample_value("dialtone_call_records_open", {"direction": direction})

    assert (open_now("inbound"), open_now("outbound")) == (2, 1)
    store.close_expired(clock.advance(5))  # the outbound agent died; its lease ran out
    assert (open_now("inbound"), open_now("outbound")) == (2, 0)


def test_each_worker_serves_metrics_from_its_own_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialtone import wire as names
    from dialtone.config import load_settings
    from dialtone.worker import build_server
    from tests.programs import receptionist as program

    monkeypatch.chdir(tmp_path)
    personas = Path(__file__).resolve().parents[2] / "personas"
    settings = load_settings(
        persona_dir=personas, data_dir=tmp_path / "data", worker_metrics_port=9470
    )
    receptionist = build_server(settings, names.RECEPTIONIST, program.entrypoint)
    reminder = build_server(settings, names.REMINDER, program.entrypoint)
    assert receptionist._prometheus_port == 9470
    assert receptionist._prometheus_multiproc_dir == str(tmp_path / "data/prometheus/receptionist")
    assert reminder._prometheus_multiproc_dir == str(tmp_path / "data/prometheus/reminder")
    off = build_server(
        load_settings(persona_dir=personas, worker_metrics_port=0),
        names.RECEPTIONIST,
        program.entrypoint,
    )
    assert off._prometheus_port is None
