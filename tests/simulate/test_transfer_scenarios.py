"""`dialtone simulate` of the transfer scenarios on the real offline stack.

The command a user runs: espeak-ng caller, silero VAD, pocketsphinx, the rule-based
dialogue calling `transfer_to_human`, the real TransferDesk and hold audio, with the
scenario's simulated far end (dialtone/simulate/far_end.py) as the human's phone. Each
scenario asserts the typed outcome, what the caller was told and the longest silence in
the agent channel; the JSON is read back to check the far end did what was scripted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dialtone.__main__ import app

pytestmark = pytest.mark.audio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DIALTONE_PROFILE", "offline")
    # records and messages go to the test's folder, not the checkout's data/
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))


def simulate(name: str, out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["simulate", f"tests/scenarios/{name}.yaml", "--json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["passed"], report["failures"]
    return report


def test_caller_hears_hold_then_is_handed_to_the_human(tmp_path: Path) -> None:
    report = simulate("transfer_hold", tmp_path)
    [transfer] = report["transfers"]
    assert (transfer["outcome"], transfer["mechanism"]) == ("completed", "consult")
    assert report["left_call"] is True and report["hung_up"] is False
    assert report["max_agent_gap_s"] <= 1.0
    # The human heard the brief (seconds of it); the caller heard neither it nor the human.
    assert transfer["brief_to_human_ms"] > 2000
    assert transfer["brief_to_caller_dbfs"] is None
    assert transfer["human_to_caller_before_accept_ms"] == 0


def test_human_who_declines_is_never_heard_by_the_caller(tmp_path: Path) -> None:
    report = simulate("transfer_declined", tmp_path)
    [transfer] = report["transfers"]
    assert transfer["outcome"] == "declined" and "declined" in transfer["detail"]
    assert transfer["brief_to_human_ms"] > 2000
    assert transfer["brief_to_caller_dbfs"] is None
    assert transfer["human_to_caller_before_accept_ms"] == 0
    assert report["left_call"] is False


def test_human_voicemail_is_neither_briefed_nor_heard(tmp_path: Path) -> None:
    report = simulate("transfer_human_voicemail", tmp_path)
    [transfer] = report["transfers"]
    assert transfer["outcome"] == "voicemail"
    assert transfer["brief_to_human_ms"] == 0
    assert transfer["human_to_caller_before_accept_ms"] == 0


def test_busy_human_sends_the_caller_back_with_an_offer(tmp_path: Path) -> None:
    report = simulate("transfer_busy_fallback", tmp_path)
    [transfer] = report["transfers"]
    assert (transfer["outcome"], transfer["sip_status_code"]) == ("busy", 486)
    assert report["left_call"] is False and report["max_agent_gap_s"] <= 1.0


def test_after_hours_takes_a_message(tmp_path: Path) -> None:
    report = simulate("transfer_after_hours", tmp_path)
    assert [t["outcome"] for t in report["transfers"]] == ["after_hours"]
    assert [c["name"] for c in report["tool_calls"]] == ["transfer_to_human", "take_message"]


def test_caller_talking_on_hold_is_not_heard_by_the_human_before_acceptance(
    tmp_path: Path,
) -> None:
    report = simulate("transfer_caller_talks_on_hold", tmp_path)
    [transfer] = report["transfers"]
    assert transfer["outcome"] == "completed"
    assert transfer["caller_to_human_before_accept_ms"] == 0
    assert transfer["human_to_caller_before_accept_ms"] == 0
