"""A newcomer's mistakes, each made through the real `dialtone` command in a fresh
clone: each must end in one line that names the fix (and a nonzero exit), never a
traceback or a silent wrong result."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from .clone import ROOT, clean_environment, dialtone_argv, run

LIVEKIT = {
    "LIVEKIT_URL": "ws://127.0.0.1:9",
    "LIVEKIT_API_KEY": "key",
    "LIVEKIT_API_SECRET": "a-secret-at-least-32-characters-long!!",
}


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def one_error(result: subprocess.CompletedProcess[str], *names: str) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    errors = error_lines(result)
    assert len(errors) == 1, result.stderr
    for name in names:
        assert name in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def bad_voice_personas(clone: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "personas"
    shutil.copytree(clone / "personas", folder)
    file = folder / "receptionist.yaml"
    text = file.read_text(encoding="utf-8").replace(
        "offline: en-us+f3", "offline: english-female-9"
    )
    assert "english-female-9" in text
    file.write_text(text, encoding="utf-8")
    return folder


def test_a_voice_espeak_lacks_is_one_line_at_worker_start(
    clone: Path, bad_voice_personas: Path
) -> None:
    env = clean_environment(clone, DIALTONE_PERSONA_DIR=str(bad_voice_personas), **LIVEKIT)
    result = run(dialtone_argv("start"), cwd=clone, env=env)
    line = one_error(result, "voice.offline", "english-female-9", "en-us")
    assert "receptionist" in line


def test_a_voice_espeak_lacks_fails_in_doctor(clone: Path, bad_voice_personas: Path) -> None:
    env = clean_environment(clone, DIALTONE_PERSONA_DIR=str(bad_voice_personas))
    result = run(dialtone_argv("doctor"), cwd=clone, env=env)
    assert result.returncode != 0
    voice = [line for line in result.stdout.splitlines() if "persona voices" in line]
    assert voice and "FAIL" in voice[0], result.stdout
    assert "english-female-9" in result.stdout


def test_a_voice_espeak_lacks_stops_a_simulated_call(clone: Path, bad_voice_personas: Path) -> None:
    env = clean_environment(
        clone, DIALTONE_PERSONA_DIR=str(bad_voice_personas), DIALTONE_PROFILE="offline"
    )
    scenario = ROOT / "tests" / "scenarios" / "end_call.yaml"
    result = run(dialtone_argv("simulate", str(scenario)), cwd=clone, env=env)
    one_error(result, "english-female-9")


def test_an_unknown_persona_in_a_scenario_lists_the_known_ones(clone: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    text = (ROOT / "tests" / "scenarios" / "end_call.yaml").read_text(encoding="utf-8")
    scenario.write_text(text.replace("persona: receptionist", "persona: dentist"), encoding="utf-8")
    env = clean_environment(clone, DIALTONE_PROFILE="offline")
    result = run(dialtone_argv("simulate", str(scenario)), cwd=clone, env=env)
    line = one_error(result, "'dentist'", "receptionist")
    assert "dispatch" not in line


def test_the_data_folder_is_the_projects_from_any_directory(clone: Path, tmp_path: Path) -> None:
    env = clean_environment(clone)
    shutil.rmtree(clone / "data", ignore_errors=True)
    first = run(dialtone_argv("calls", "list"), cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert not (tmp_path / "data").exists()
    assert (clone / "data").is_dir()
    assert f"made the data folder {clone / 'data'}" in first.stderr  # said where, once
    again = run(dialtone_argv("calls", "list"), cwd=clone, env=env)
    assert "made the data folder" not in again.stderr


def test_a_livekit_url_with_a_path_names_the_setting(clone: Path) -> None:
    env = clean_environment(
        clone, **{**LIVEKIT, "LIVEKIT_URL": "https://example.livekit.cloud/rooms/x"}
    )
    result = run(dialtone_argv("trunks", "plan"), cwd=clone, env=env)
    one_error(result, "LIVEKIT_URL", "https://example.livekit.cloud")


def test_a_trunk_file_indented_with_tabs_says_so(clone: Path, tmp_path: Path) -> None:
    folder = tmp_path / "trunks"
    folder.mkdir()
    original = next((clone / "trunks").glob("*.yaml")).read_text(encoding="utf-8")
    (folder / "carrier.yaml").write_text(original.replace("  ", "\t"), encoding="utf-8")
    env = clean_environment(clone, CARRIER_SIP_PASSWORD="x" * 24, CARRIER_API_KEY="k" * 24)
    result = run(dialtone_argv("trunks", "validate", "--dir", str(folder)), cwd=clone, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "indent with spaces" in result.stdout + result.stderr
    assert "cannot start any token" not in result.stdout + result.stderr


@pytest.mark.audio
def test_ctrl_c_during_a_simulated_call_is_quiet(clone: Path) -> None:
    """Ctrl-C reaches the whole foreground group, the recogniser's process included."""
    env = clean_environment(clone, DIALTONE_PROFILE="offline")
    scenario = ROOT / "tests" / "scenarios" / "end_call.yaml"
    call = subprocess.Popen(
        dialtone_argv("simulate", str(scenario)),
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # Interrupt once the recogniser's process exists (it is a child of the forkserver).
    deadline = time.monotonic() + 60
    # (A process still starting up, importing `site`, would print its own traceback:
    # that narrow window is not what this test is about.)
    while not _recogniser_started(call.pid) and call.poll() is None:
        assert time.monotonic() < deadline, "the recogniser never started"
        time.sleep(0.2)
    os.killpg(call.pid, signal.SIGINT)
    _out, err = call.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert call.returncode == 130
    assert "interrupted" in err


def test_a_venv_made_by_an_older_python_is_one_line_from_make(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text("#!/bin/sh\necho 3.10.12\n", encoding="utf-8")  # what 3.10 prints
    python.chmod(0o755)
    # -n: nothing runs even if the check were missing (setup would install into it)
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "run", f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "3.10.12" in lines[0] and "rm -rf" in lines[0], result.stderr


def _recogniser_started(pid: int) -> bool:
    """The forkserver (a child) has forked the recogniser (a grandchild): both are up."""
    try:
        return any(child.children() for child in psutil.Process(pid).children())
    except psutil.NoSuchProcess:
        return False
