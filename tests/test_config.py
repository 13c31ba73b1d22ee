"""Settings: profile resolution and errors that name the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialtone.config import ConfigError, Profile, load_settings

PROVIDER_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DEEPGRAM_API_KEY", "DIALTONE_PROFILE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (*PROVIDER_VARS, "LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))  # no stray .env


def test_auto_without_keys_is_offline() -> None:
    assert load_settings().resolved_profile is Profile.OFFLINE


def test_auto_with_every_key_is_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-test")
    assert load_settings().resolved_profile is Profile.CLOUD


def test_half_a_set_of_keys_names_the_missing_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with pytest.raises(ConfigError, match="DEEPGRAM_API_KEY"):
        _ = load_settings().resolved_profile


def test_cloud_forced_without_keys_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_PROFILE", "cloud")
    with pytest.raises(ConfigError, match="DEEPGRAM_API_KEY and OPENAI_API_KEY"):
        _ = load_settings().resolved_profile


def test_offline_forced_ignores_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_PROFILE", "offline")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_settings().resolved_profile is Profile.OFFLINE


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DIALTONE_PROFILE", "fast"),
        ("LIVEKIT_URL", "livekit.example.com"),
        ("DIALTONE_LOG_LEVEL", "LOUD"),
    ],
)
def test_malformed_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_livekit_credentials_missing_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "wss://example.livekit.cloud")
    settings = load_settings()
    assert not settings.has_livekit
    with pytest.raises(ConfigError, match="LIVEKIT_API_KEY, LIVEKIT_API_SECRET"):
        settings.require_livekit()


def test_secrets_do_not_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_API_SECRET", "very-secret-value-123")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-456")
    text = repr(load_settings())
    assert "very-secret-value-123" not in text and "sk-very-secret-456" not in text


def test_failover_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_PROVIDER_TIMEOUT", "1.5")
    monkeypatch.setenv("DIALTONE_PROVIDER_RETRIES", "1")
    settings = load_settings()
    assert (settings.provider_timeout, settings.provider_retries) == (1.5, 1)
    assert settings.provider_retry_interval == 0.2


def test_a_failover_timeout_of_zero_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_PROVIDER_TIMEOUT", "0")
    with pytest.raises(ConfigError, match="DIALTONE_PROVIDER_TIMEOUT"):
        load_settings()


def test_a_livekit_url_with_a_path_names_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "wss://clinic.livekit.cloud/rooms/abc")
    with pytest.raises(ConfigError, match=r"^invalid setting LIVEKIT_URL: .*wss://clinic"):
        load_settings()
    monkeypatch.setenv("LIVEKIT_URL", "wss://clinic.livekit.cloud/")
    assert load_settings().livekit_url == "wss://clinic.livekit.cloud"


def test_env_of_the_project_is_read_from_another_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project, elsewhere = tmp_path / "clinic", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / ".env").write_text("LIVEKIT_URL=ws://from-dotenv:7880\nDIALTONE_DATA_DIR=state\n")
    monkeypatch.setenv("DIALTONE_PROJECT_DIR", str(project))
    monkeypatch.delenv("DIALTONE_DATA_DIR", raising=False)
    monkeypatch.chdir(elsewhere)
    settings = load_settings()
    assert settings.livekit_url == "ws://from-dotenv:7880"
    assert settings.data_dir == project.resolve() / "state"  # relative: the project's
    monkeypatch.setenv("LIVEKIT_URL", "ws://from-environment:7880")
    assert load_settings().livekit_url == "ws://from-environment:7880"  # environment wins
