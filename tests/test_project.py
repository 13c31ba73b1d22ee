"""The project folder: every entry point finds the same `.env`, agents and data."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialtone.project import BESIDE_PACKAGE, PROJECT_DIR_ENV, env_file, project_dir


@pytest.fixture(autouse=True)
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROJECT_DIR_ENV, raising=False)


def test_the_current_directory_when_it_is_a_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("LIVEKIT_URL=ws://x\n")
    monkeypatch.chdir(tmp_path)
    assert project_dir() == tmp_path.resolve()
    assert env_file() == tmp_path.resolve() / ".env"


def test_the_programs_folder_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, elsewhere = tmp_path / "clinic", tmp_path / "elsewhere"
    (project / "agents").mkdir(parents=True)
    (project / "agents" / "receptionist.py").write_text("")
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert project_dir(project / "agents" / "receptionist.py") == project.resolve()


def test_the_checkout_when_nothing_else_is_a_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert project_dir() == BESIDE_PACKAGE  # this checkout has personas/


def test_the_setting_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "personas").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(PROJECT_DIR_ENV, str(tmp_path / "other"))
    assert project_dir() == (tmp_path / "other").resolve()
    assert env_file() is None
