"""`dialtone simulate` plays reminder calls on the real offline stack: the callee is an
espeak-ng voice on an 8 kHz phone line, heard through silero VAD and pocketsphinx; AMD
(livekit-agents) decides person or mailbox; the beep is a real tone on the line."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dialtone.__main__ import app
from dialtone.db.engine import make_engine, sqlite_url
from dialtone.records.models import CallOutcome, Direction
from dialtone.records.retention import Retention
from dialtone.records.store import CallFilter, RecordStore

pytestmark = pytest.mark.audio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DIALTONE_PROFILE", "offline")
    # records and messages go to the test's folder, not the checkout's data/
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))


def simulate(name: str, out: Path) -> dict[str, object]:
    result = CliRunner().invoke(
        app, ["simulate", f"tests/scenarios/{name}.yaml", "--json", "--out", str(out)]
    )
    report: dict[str, object] = json.loads(result.stdout[result.stdout.index("{") :])
    assert result.exit_code == 0, report["failures"]
    return report


def tools(report: dict[str, object]) -> list[str]:
    calls = report["tool_calls"]
    assert isinstance(calls, list)
    return [call["name"] for call in calls]


def test_person_confirms(tmp_path: Path) -> None:
    report = simulate("reminder_confirm", tmp_path)
    assert report["outcome"] == "completed"
    assert tools(report) == ["confirm_appointment", "end_call"]
    assert report["answer"] == "human"
    assert "answer: amd:" in str(report["outcome_detail"])  # AMD's timing said a person


def test_voicemail_gets_a_message_after_the_beep(tmp_path: Path) -> None:
    report = simulate("reminder_voicemail", tmp_path)
    assert report["outcome"] == "voicemail"
    assert "after the beep" in str(report["outcome_detail"])
    assert report["answer"] == "voicemail"
    assert tools(report) == []  # nothing was asked of a machine
    # The message started after the greeting and its beep had finished playing.
    turns = report["turns"]
    assert isinstance(turns, list) and isinstance(turns[0]["latency_ms"], float)
    assert (tmp_path / "reminder_voicemail.wav").exists()


def test_person_opts_out(tmp_path: Path) -> None:
    report = simulate("reminder_opt_out", tmp_path)
    assert report["outcome"] == "opted_out"
    assert tools(report) == ["opt_out", "end_call"]


def test_a_recorded_reminder_announces_the_recording_before_the_reminder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    personas = tmp_path / "personas"
    personas.mkdir()
    shipped = (ROOT / "personas" / "reminder.yaml").read_text()
    announce = "This call is recorded."
    block = f"recording:\n  enabled: true\n  announce: {announce}\n"
    (personas / "reminder.yaml").write_text(shipped + "\n" + block)
    monkeypatch.setenv("DIALTONE_PERSONA_DIR", str(personas))
    monkeypatch.setenv("DIALTONE_DEFAULT_PERSONA", "reminder")
    report = simulate("reminder_confirm", tmp_path / "out")
    assert report["outcome"] == "completed"
    transcript = report["transcript"]
    assert isinstance(transcript, list)
    agent = [line["text"] for line in transcript if line["speaker"] == "agent"]
    assert agent[0] == announce, agent
    assert "appointment" in agent[1].lower(), agent


def test_a_recorded_reminder_keeps_its_recording_under_the_attempts_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like a simulated receptionist call: one call record (outbound, the attempt's id)
    and its stereo WAV, so the console and the API play it."""
    personas = tmp_path / "personas"
    personas.mkdir()
    shipped = (ROOT / "personas" / "reminder.yaml").read_text()
    (personas / "reminder.yaml").write_text(shipped + "\nrecording:\n  enabled: true\n")
    monkeypatch.setenv("DIALTONE_PERSONA_DIR", str(personas))
    monkeypatch.setenv("DIALTONE_DEFAULT_PERSONA", "reminder")
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))
    assert simulate("reminder_confirm", tmp_path / "out")["outcome"] == "completed"

    store = RecordStore(make_engine(sqlite_url(tmp_path / "data")), Retention())
    records, _ = store.list(CallFilter())
    assert len(records) == 1
    record = records[0]
    assert record.direction is Direction.OUTBOUND and record.attempt_id == "0" * 32
    assert record.outcome is CallOutcome.COMPLETED and record.persona == "reminder"
    wav = tmp_path / "data" / "recordings" / f"{record.id}.wav"
    with wave.open(str(wav)) as w:
        assert w.getnchannels() == 2 and w.getnframes() > w.getframerate()
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert np.abs(frames[:, 0]).sum() > 0 and np.abs(frames[:, 1]).sum() > 0
