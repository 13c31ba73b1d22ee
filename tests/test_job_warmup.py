"""The forkserver's warm-up: the persona folder parsed once for every call's process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dialtone.personas as personas
from dialtone.job_warmup import warm
from dialtone.worker import JOB_MODULES

DESK = "display_name: Desk\ngreeting: Hello\ninstructions: Be nice.\n"


def test_the_forkserver_imports_the_warm_up_after_the_modules_it_warms() -> None:
    assert JOB_MODULES[-1] == "dialtone.job_warmup"


def test_warm_parses_the_settings_persona_folder_for_the_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "personas"
    folder.mkdir()
    (folder / "desk.yaml").write_text(DESK, encoding="utf-8")
    monkeypatch.setenv("DIALTONE_PERSONA_DIR", str(folder))
    monkeypatch.setenv("DIALTONE_DEFAULT_PERSONA", "desk")
    assert warm()
    assert (folder / "desk.yaml").absolute() in personas._PARSED

    parsed: list[Path] = []
    real = personas.load_persona

    def counting(path: Path) -> personas.Persona:
        parsed.append(path)
        return real(path)

    monkeypatch.setattr(personas, "load_persona", counting)
    book = personas.PersonaBook.load(folder, "desk")  # what a call's start does
    assert book.pick().greeting == "Hello"
    assert parsed == []


def test_warm_never_fails_the_forkserver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A persona folder broken since the worker started is the call's error to report."""
    monkeypatch.setenv("DIALTONE_PERSONA_DIR", str(tmp_path))  # no persona in it
    assert not warm()
    monkeypatch.setenv("DIALTONE_PROVIDER_TIMEOUT", "not a number")
    assert not warm()


def test_the_libraries_one_off_set_up_is_done_before_the_fork() -> None:
    """In a fresh interpreter, as in the forkserver: livekit-agents' chat message model is
    completed and SQLAlchemy's SQLite dialect loaded by the import, not by a call."""
    probe = (
        "import sys; from livekit.agents import llm; "
        "before = (llm.ChatMessage.__pydantic_complete__, "
        "'sqlalchemy.dialects.sqlite.pysqlite' in sys.modules); "
        "import dialtone.job_warmup; "
        "after = (llm.ChatMessage.__pydantic_complete__, "
        "'sqlalchemy.dialects.sqlite.pysqlite' in sys.modules); "
        "print(before, after)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split("\n")[-2] == "(False, False) (True, True)"
