"""Shared pieces of the outage tests: the call they play and a healthy baseline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dialtone.config import Settings, load_settings
from dialtone.records.models import CallRecord
from dialtone.records.recorder import CallRecorder
from dialtone.records.store import CallStart
from dialtone.simulate.report import CallReport
from dialtone.simulate.runner import simulate_call
from dialtone.simulate.scenario import Scenario, load_scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCENARIO = HERE / "two_turns.yaml"


@dataclass
class Played:
    report: CallReport
    record: CallRecord


async def play(scenario: Scenario, settings: Settings) -> Played:
    """Play `scenario` and keep the call record it leaves (in memory, no database)."""
    recorders: list[CallRecorder] = []

    def record(start: CallStart) -> CallRecorder:
        recorders.append(CallRecorder(None, start))
        return recorders[-1]

    report = await simulate_call(scenario, settings=settings, record=record)
    assert recorders and recorders[0].record is not None
    return Played(report, recorders[0].record)


def cloud_settings(*, openai_url: str, deepgram_url: str, **extra: Any) -> Settings:
    return load_settings(
        profile="cloud",
        openai_api_key="sk-test",
        deepgram_api_key="dg-test",
        openai_base_url=f"{openai_url}/v1",
        deepgram_base_url=f"{deepgram_url}/v1/listen",
        persona_dir=ROOT / "personas",
        **extra,
    )


@pytest.fixture(autouse=True)
def scratch_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A call's files go to the test's folder, not the checkout's data/ (where other
    tests and the developer's own database live)."""
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Played:
    """The same call on the offline profile: what a turn costs with no provider at all
    (the fallback's own links), measured on this machine in this run."""
    settings = load_settings(
        profile="offline",
        persona_dir=ROOT / "personas",
        data_dir=tmp_path_factory.mktemp("baseline-data"),
    )
    played = asyncio.run(play(load_scenario(SCENARIO), settings))
    assert played.report.passed, played.report.to_text()
    return played
