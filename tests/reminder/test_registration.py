"""The reminder worker registers agent `reminder`; the CLI has a command that starts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.__main__ import app
from agents.config import load_settings
from agents.worker import build_server

ROOT = Path(__file__).resolve().parents[2]


def test_reminder_worker_registers_the_reminder_agent() -> None:
    settings = load_settings(persona_dir=ROOT / "personas", profile="offline")
    assert build_server(settings, "reminder")._agent_name == "reminder"
    assert build_server(settings)._agent_name == "receptionist"


def test_unknown_agent_name_is_refused() -> None:
    settings = load_settings(persona_dir=ROOT / "personas", profile="offline")
    with pytest.raises(ValueError, match="known: receptionist, reminder"):
        build_server(settings, "surveyor")


def test_cli_has_reminder_worker_commands() -> None:
    result = CliRunner().invoke(app, ["reminder", "--help"])
    assert result.exit_code == 0
    assert "start" in result.output and "dev" in result.output
