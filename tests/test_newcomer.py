"""A newcomer's usual mistakes, made as they would make them: through the `dialtone`
command, from a directory with no `.env`. Each must end in one line naming what to fix,
a nonzero exit, and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLEARED = (
    "LIVEKIT_URL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DEEPGRAM_API_KEY",
    "DIALTONE_PROFILE",
)


def dialtone(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    return subprocess.run(
        [sys.executable, "-m", "dialtone", *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_clean_line(result: subprocess.CompletedProcess[str], names: str) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and names in errors[0], result.stderr


@pytest.mark.parametrize("command", [["run"], ["start"], ["dev"]])
def test_half_a_set_of_provider_keys(command: list[str]) -> None:
    result = dialtone(
        *command,
        cwd=ROOT,
        OPENAI_API_KEY="sk-test",
        LIVEKIT_URL="ws://127.0.0.1:7880",
        LIVEKIT_API_KEY="key",
        LIVEKIT_API_SECRET="secret",
    )
    assert_one_clean_line(result, "DEEPGRAM_API_KEY")


@pytest.mark.parametrize("command", [["start"], ["dev"], ["reminder", "start"]])
def test_worker_without_livekit_url(command: list[str]) -> None:
    assert_one_clean_line(dialtone(*command, cwd=ROOT), "LIVEKIT_URL")


def test_run_with_livekit_url_but_no_key_names_the_key() -> None:
    result = dialtone("run", cwd=ROOT, LIVEKIT_URL="ws://127.0.0.1:7880")
    assert_one_clean_line(result, "LIVEKIT_API_KEY, LIVEKIT_API_SECRET")
    assert "LIVEKIT_URL is not set" not in result.stderr


def test_setup_waits_for_another_apt_holding_the_dpkg_lock() -> None:
    """On a fresh VM unattended-upgrades holds the lock for minutes: every apt-get call
    waits for it (bounded) instead of failing at once."""
    script = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    calls = [line for line in script.splitlines() if "apt-get" in line and "#" not in line]
    assert calls
    assert "DPkg::Lock::Timeout=120" in script
    assert all('"${lock[@]}"' in line for line in calls), calls
