"""`dialtone simulate` end to end on the real offline stack (espeak-ng caller, silero VAD,
pocketsphinx, rule-based dialogue, espeak-ng agent): the command a new user runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.__main__ import app
from dialtone.config import load_settings
from dialtone.messages.store import message_store

pytestmark = pytest.mark.audio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DIALTONE_PROFILE", "offline")
    # records and messages go to the test's folder, not the checkout's data/
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))


def test_demo_call_passes_and_reports_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["simulate", "tests/scenarios/receptionist_message.yaml", "--json", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["passed"] and report["profile"] == "offline"
    assert [call["name"] for call in report["tool_calls"]] == ["take_message", "end_call"]
    assert len(report["turns"]) == 4
    assert all(isinstance(turn["latency_ms"], float) for turn in report["turns"])
    assert report["hung_up"] is True
    assert (out / "receptionist_message.wav").stat().st_size > 16000 * 4 * 10
    # The record and the message went where every call's go, not into --out.
    assert sorted(p.name for p in out.iterdir()) == [
        "receptionist_message.json",
        "receptionist_message.wav",
    ]
    listed = subprocess.run(
        [sys.executable, "-m", "dialtone", "calls", "list"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DIALTONE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)},
    )
    assert listed.returncode == 0, listed.stderr
    (line,) = [row for row in listed.stdout.splitlines() if "+15550100100" in row]
    assert "inbound" in line and "completed" in line and "+15551230000" in line
    messages = message_store(load_settings()).list(limit=10)
    assert [m.caller_number for m in messages] == ["+15551230000"]


def test_failed_expectation_exits_non_zero(tmp_path: Path) -> None:
    scenario = tmp_path / "closed.yaml"
    scenario.write_text(
        "steps:\n  - say: what are your hours\nexpect:\n  phrases: [we are closed forever]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["simulate", str(scenario)])
    assert result.exit_code == 1
    assert "the agent never said 'we are closed forever'" in result.stdout
    assert "result: FAIL" in result.stdout


def test_bad_scenario_names_the_field(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("steps:\n  - say: hi\n    when: later\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(scenario)])
    assert result.exit_code == 1
    assert "bad.yaml: steps.0.when" in result.output
