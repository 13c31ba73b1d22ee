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


UNREACHABLE_PG = "postgresql+psycopg://dialtone:hunter2@127.0.0.1:9/dialtone?connect_timeout=2"


@pytest.mark.parametrize(
    "command",
    [["calls", "list"], ["db", "upgrade"], ["simulate", "tests/scenarios/end_call.yaml"]],
)
def test_an_unreachable_database_names_the_setting(command: list[str]) -> None:
    result = dialtone(*command, cwd=ROOT, DIALTONE_DATABASE_URL=UNREACHABLE_PG)
    assert_one_clean_line(result, "DIALTONE_DATABASE_URL")
    assert "hunter2" not in result.stderr + result.stdout  # the password is never shown


def test_serve_with_an_unreachable_database_names_the_setting() -> None:
    result = dialtone(
        "serve",
        "--port",
        "0",
        cwd=ROOT,
        DIALTONE_DATABASE_URL=UNREACHABLE_PG,
        DIALTONE_API_TOKEN="operator-token-Hq7vN2xK9mR4tW8pZ3bL",
    )
    assert_one_clean_line(result, "DIALTONE_DATABASE_URL")
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", [["calls", "list"], ["db", "upgrade"]])
def test_a_data_directory_that_is_a_file_names_the_setting(
    command: list[str], tmp_path: Path
) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("I am a file")
    result = dialtone(*command, cwd=ROOT, DIALTONE_DATA_DIR=str(not_a_dir))
    assert_one_clean_line(result, "DIALTONE_DATA_DIR")


@pytest.mark.audio
def test_simulate_from_another_directory_finds_the_checkouts_personas(tmp_path: Path) -> None:
    scenario = ROOT / "tests" / "scenarios" / "end_call.yaml"
    result = dialtone("simulate", str(scenario), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_missing_persona_folder_says_where_it_looked(tmp_path: Path) -> None:
    result = dialtone(
        "simulate",
        str(ROOT / "tests" / "scenarios" / "end_call.yaml"),
        cwd=tmp_path,
        DIALTONE_PERSONA_DIR="nowhere",
    )
    assert_one_clean_line(result, "DIALTONE_PERSONA_DIR")
    assert str(tmp_path / "nowhere") in result.stderr


def test_trunks_validate_from_another_directory_reads_the_checkouts_trunks(
    tmp_path: Path,
) -> None:
    result = dialtone(
        "trunks",
        "validate",
        cwd=tmp_path,
        CARRIER_SIP_PASSWORD="x" * 24,
        CARRIER_API_KEY="k" * 24,
    )
    assert result.returncode == 0, result.stdout + result.stderr
