"""The reminder worker registers agent `reminder`; the CLI has a command that starts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.__main__ import app
from dialtone.config import ConfigError, load_settings
from dialtone.worker import build_server
from tests.programs import receptionist, reminder

ROOT = Path(__file__).resolve().parents[2]


def test_reminder_worker_registers_the_reminder_agent() -> None:
    settings = load_settings(persona_dir=ROOT / "personas", profile="offline")
    assert build_server(settings, "reminder", reminder.entrypoint)._agent_name == "reminder"
    served = build_server(settings, "receptionist", receptionist.entrypoint)
    assert served._agent_name == "receptionist"


def test_unknown_agent_name_is_refused() -> None:
    settings = load_settings(persona_dir=ROOT / "personas", profile="offline")
    with pytest.raises(ConfigError, match="known: receptionist, reminder"):
        build_server(settings, "surveyor", reminder.entrypoint)


def test_cli_has_reminder_worker_commands() -> None:
    result = CliRunner().invoke(app, ["reminder", "--help"])
    assert result.exit_code == 0
    assert "start" in result.output and "dev" in result.output
