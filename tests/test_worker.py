"""The worker registers the receptionist and refuses bad configuration before registering."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialtone.config import ConfigError, load_settings
from dialtone.worker import build_server
from tests.programs import receptionist

ROOT = Path(__file__).resolve().parents[1]


def test_server_registers_the_receptionist() -> None:
    server = build_server(
        load_settings(persona_dir=ROOT / "personas", profile="offline"),
        "receptionist",
        receptionist.entrypoint,
    )
    assert server._agent_name == "receptionist"


def test_missing_persona_directory_fails_before_registering(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DIALTONE_PERSONA_DIR"):
        build_server(
            load_settings(persona_dir=tmp_path, profile="offline"),
            "receptionist",
            receptionist.entrypoint,
        )


def test_half_configured_cloud_profile_fails_before_registering() -> None:
    settings = load_settings(persona_dir=ROOT / "personas", openai_api_key="sk-x", profile="auto")
    with pytest.raises(ConfigError, match="DEEPGRAM_API_KEY"):
        build_server(settings, "receptionist", receptionist.entrypoint)
