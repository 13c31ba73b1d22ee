"""The agent programs in `agents/`: found, loaded once, and runnable the LiveKit way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dialtone.programs import ProgramError, load_program, program_path

ROOT = Path(__file__).resolve().parents[1]
DIALTONE = Path(sys.executable).with_name("dialtone")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "DIALTONE_"))}
    return {**env, **extra}


def test_found_beside_the_package_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./agents here
    assert program_path("receptionist") == ROOT / "agents" / "receptionist.py"


def test_a_configured_folder_wins_and_a_missing_program_names_the_setting(
    tmp_path: Path,
) -> None:
    (tmp_path / "receptionist.py").write_text("AGENT_NAME = 'receptionist'\n")
    assert program_path("receptionist", tmp_path) == tmp_path / "receptionist.py"
    with pytest.raises(ProgramError, match="DIALTONE_AGENTS_DIR"):
        program_path("reminder", tmp_path)


def test_a_syntax_error_in_a_program_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("x = 1\ndef oops(:\n")
    with pytest.raises(ProgramError, match=r"broken\.py:2: "):
        load_program("broken", tmp_path)


def test_loaded_once_so_its_classes_stay_the_same() -> None:
    first = load_program("receptionist")
    assert load_program("receptionist") is first
    assert first.AGENT_NAME == "receptionist" and callable(first.make_agent)
    assert load_program("reminder").AGENT_NAME == "reminder"


@pytest.mark.parametrize("program", ["receptionist", "reminder"])
def test_each_program_runs_with_livekits_command_line(program: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "agents" / f"{program}.py"), "--help"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "start" in result.stdout and "dev" in result.stdout


def test_dialtone_start_with_a_missing_program_folder_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(DIALTONE), "start"],
        cwd=ROOT,
        env=_env(DIALTONE_AGENTS_DIR=str(tmp_path / "nowhere")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "DIALTONE_AGENTS_DIR" in result.stderr and "Traceback" not in result.stderr


def test_a_program_with_a_bad_setting_exits_with_the_variable_to_fix(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "agents" / "receptionist.py"), "start"],
        cwd=ROOT,
        env=_env(DIALTONE_PROFILE="loud"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "DIALTONE_PROFILE" in result.stderr and "Traceback" not in result.stderr


def test_threads_loading_a_program_at_once_all_get_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls on threads of one process (worker groups) load the program together."""
    import threading
    import types

    gate = types.ModuleType("program_gate")
    gate.entered = threading.Event()  # type: ignore[attr-defined]
    gate.release = threading.Event()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "program_gate", gate)
    (tmp_path / "slowpoke.py").write_text(
        "import program_gate\n"
        "program_gate.entered.set()\n"
        "program_gate.release.wait(30)\n"
        "def make_agent():\n    return 'agent'\n",
        encoding="utf-8",
    )
    monkeypatch.delitem(sys.modules, "dialtone_agent_slowpoke", raising=False)
    got: dict[str, object] = {}

    def load(who: str) -> None:
        got[who] = getattr(load_program("slowpoke", tmp_path), "make_agent", None)

    first = threading.Thread(target=load, args=("first",))
    first.start()
    assert gate.entered.wait(30)  # the first thread is running the program's body
    second = threading.Thread(target=load, args=("second",))
    second.start()
    second.join(timeout=0.5)  # it must wait for the first (the bound only limits a hang)
    gate.release.set()
    first.join(30)
    second.join(30)
    assert got["first"] is got["second"]
    assert callable(got["second"])
    sys.modules.pop("dialtone_agent_slowpoke", None)
