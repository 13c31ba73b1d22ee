"""Persona voices against what the engines have, with the close names listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialtone.config import load_settings
from dialtone.personas import PersonaBook, PersonaError
from dialtone.voices import (
    EspeakVoices,
    check_voices,
    espeak_voices,
    persona_voice_problems,
)

CATALOG = EspeakVoices(
    languages=frozenset({"en", "en-us", "en-gb", "gmw/en-us", "fr-fr"}),
    variants=frozenset({"f3", "m3", "Alex"}),
)
ROOT = Path(__file__).resolve().parents[1]


def test_a_known_voice_and_variant_pass() -> None:
    assert CATALOG.problem("en-us+f3") is None
    assert CATALOG.problem("EN-US") is None  # espeak-ng reads languages case-insensitively
    assert CATALOG.problem("gmw/en-US+Alex") is None


def test_an_unknown_voice_lists_close_ones() -> None:
    problem = CATALOG.problem("english-female-9")
    assert problem is not None and "'english-female-9'" in problem and "en-us" in problem
    assert "close: en-gb" in (CATALOG.problem("en-gbb") or "")


def test_an_unknown_variant_is_refused_not_ignored() -> None:
    problem = CATALOG.problem("en-us+alex")  # espeak-ng would silently use the default
    assert problem is not None and "variant 'alex'" in problem and "Alex" in problem


@pytest.fixture
def personas(tmp_path: Path) -> Path:
    text = (ROOT / "personas" / "receptionist.yaml").read_text(encoding="utf-8")
    (tmp_path / "receptionist.yaml").write_text(
        text.replace("cloud: coral", "cloud: corall"), encoding="utf-8"
    )
    return tmp_path


def test_the_cloud_voice_is_checked_on_the_cloud_profile_only(
    personas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "OPENAI_BASE_URL", "DIALTONE_TTS_VOICE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIALTONE_PROFILE", "auto")
    book = PersonaBook.load(personas, "receptionist")
    persona = book.personas["receptionist"]
    offline = load_settings()
    assert not [p for p in persona_voice_problems(persona, offline) if "cloud" in p]
    cloud = load_settings(openai_api_key="sk-test", deepgram_api_key="dg-test", profile="cloud")
    problems = persona_voice_problems(persona, cloud)
    assert any("voice.cloud: OpenAI has no voice 'corall'" in p and "coral" in p for p in problems)
    with pytest.raises(PersonaError, match="corall"):
        check_voices(book, cloud)
    # a compatible server (OPENAI_BASE_URL) may have other voices: not checked
    compatible = cloud.model_copy(update={"openai_base_url": "http://127.0.0.1:11434/v1"})
    assert not [p for p in persona_voice_problems(persona, compatible) if "cloud" in p]


@pytest.mark.skipif(espeak_voices() is None, reason="espeak-ng is not installed")
def test_the_installed_espeak_has_the_shipped_personas_voices() -> None:
    catalog = espeak_voices()
    assert catalog is not None
    for file in sorted((ROOT / "personas").glob("*.yaml")):
        text = file.read_text(encoding="utf-8")
        voice = text.split("offline:", 1)[1].split()[0]
        assert catalog.problem(voice) is None, (file, voice)
