"""A persona that records: the consent line comes before the greeting, and the simulated
call's stereo WAV is kept as the call record's recording (caller left, agent right)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from dialtone.config import Settings, load_settings
from dialtone.records.metrics import CallMetrics
from dialtone.records.store import RecordStore

from .test_simulated import SCENARIOS, run

pytestmark = pytest.mark.audio

ANNOUNCE = "This call is recorded so we can get your message right."


def recording_settings(tmp_path: Path, *, enabled: bool, keep: str = "keep") -> Settings:
    personas = tmp_path / "personas"
    personas.mkdir()
    shipped = (SCENARIOS.parents[1] / "personas" / "receptionist.yaml").read_text()
    block = f"recording:\n  enabled: {str(enabled).lower()}\n  announce: {ANNOUNCE}\n"
    (personas / "receptionist.yaml").write_text(shipped + "\n" + block)
    return load_settings(persona_dir=personas, data_dir=tmp_path / "data", record_audio=keep)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_recorded_call_announces_first_and_keeps_a_stereo_wav(
    tmp_path: Path, store: RecordStore, metrics: CallMetrics
) -> None:
    settings = recording_settings(tmp_path, enabled=True)
    report, recorder = await run("end_call", settings, store, metrics)
    assert report.passed, report.failures
    record = store.get(recorder.record_id or "")
    assert record is not None and record.transcript is not None
    agent_lines = [line.text for line in record.transcript if line.speaker == "agent"]
    assert agent_lines[0] == ANNOUNCE
    assert agent_lines[1].startswith("Thank you for calling Maple Street Dental")

    wav = tmp_path / "data" / "recordings" / f"{record.id}.wav"
    with wave.open(str(wav)) as w:
        assert w.getnchannels() == 2 and w.getnframes() > w.getframerate()
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    caller, agent = np.abs(frames[:, 0]).sum(), np.abs(frames[:, 1]).sum()
    assert caller > 0 and agent > 0  # both sides, each on its own channel


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(("enabled", "keep"), [(False, "keep"), (True, "drop")])
async def test_no_recording_unless_the_persona_asks_and_the_operator_keeps_audio(
    tmp_path: Path, store: RecordStore, metrics: CallMetrics, enabled: bool, keep: str
) -> None:
    settings = recording_settings(tmp_path, enabled=enabled, keep=keep)
    report, recorder = await run("end_call", settings, store, metrics)
    assert report.passed, report.failures
    assert not (tmp_path / "data" / "recordings").exists()
    record = store.get(recorder.record_id or "")
    assert record is not None and record.transcript is not None
    assert (ANNOUNCE in record.transcript[0].text) is enabled
