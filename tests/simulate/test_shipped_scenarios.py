"""Every scenario shipped in tests/scenarios/ passes as a user runs it: `dialtone
simulate <file>` in a subprocess, offline profile, exit 0. (Scenarios that need the
test suite's scripted LLM live in tests/audio_scenarios/ and say so.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.audio  # real-time calls: about 30 s each

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))

#: Shipped scenarios another test already runs through `dialtone simulate` (in process,
#: exit status checked, and more of the report besides): each real-time call is played
#: once per `make test`, not twice. The test below holds each of these files to it.
RUN_ELSEWHERE = {
    "receptionist_message": "tests/simulate/test_cli.py",
    "reminder_confirm": "tests/outbound/test_simulate.py",
    "reminder_opt_out": "tests/outbound/test_simulate.py",
    "reminder_voicemail": "tests/outbound/test_simulate.py",
    "transfer_after_hours": "tests/simulate/test_transfer_scenarios.py",
    "transfer_busy_fallback": "tests/simulate/test_transfer_scenarios.py",
    "transfer_caller_talks_on_hold": "tests/simulate/test_transfer_scenarios.py",
    "transfer_declined": "tests/simulate/test_transfer_scenarios.py",
    "transfer_hold": "tests/simulate/test_transfer_scenarios.py",
    "transfer_human_voicemail": "tests/simulate/test_transfer_scenarios.py",
}
HERE = [path for path in SHIPPED if path.stem not in RUN_ELSEWHERE]


def test_scenarios_are_shipped() -> None:
    assert len(SHIPPED) >= 10


def test_every_shipped_scenario_is_run_once() -> None:
    shipped = {path.stem for path in SHIPPED}
    assert set(RUN_ELSEWHERE) <= shipped
    for name, test_file in RUN_ELSEWHERE.items():
        source = (ROOT / test_file).read_text(encoding="utf-8")
        assert f'simulate("{name}"' in source or f"scenarios/{name}.yaml" in source, (
            f"{test_file} no longer runs {name}: take it out of RUN_ELSEWHERE"
        )


@pytest.mark.parametrize("scenario", HERE, ids=lambda path: path.stem)
def test_passes_under_the_cli(scenario: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DIALTONE_PROFILE": "offline",
        "DIALTONE_DATA_DIR": str(tmp_path / "data"),
        "LIVEKIT_URL": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "dialtone", "simulate", str(scenario.relative_to(ROOT))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scripted_scenarios_say_so() -> None:
    scripted = sorted((ROOT / "tests" / "audio_scenarios").glob("*.yaml"))
    assert [path.stem for path in scripted] == [
        "barge_in",
        "barge_in_greeting",
        "false_interruption",
        "split_sentence",
    ]
    for path in scripted:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# Needs the test suite's scripted"), path
