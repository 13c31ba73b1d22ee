"""The issue's "done when": the cloud profile with every provider unreachable still
passes the receptionist scenario, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT
from .servers import closed_port_url

pytestmark = pytest.mark.audio


def test_simulate_cloud_profile_with_unreachable_providers_passes(tmp_path: Path) -> None:
    down = closed_port_url()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # the call's record goes to this test's folder, not the checkout's data/
        "DIALTONE_DATA_DIR": str(tmp_path / "data"),
        "DIALTONE_PROFILE": "cloud",
        "OPENAI_API_KEY": "sk-test",
        "DEEPGRAM_API_KEY": "dg-test",
        "OPENAI_BASE_URL": f"{down}/v1",
        "DEEPGRAM_BASE_URL": f"{down}/v1/listen",
    }
    result = subprocess.run(
        [sys.executable, "-m", "dialtone", "simulate", "tests/scenarios/receptionist_message.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "profile cloud" in result.stdout
    assert "result: PASS" in result.stdout
