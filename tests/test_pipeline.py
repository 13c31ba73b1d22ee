"""Provider selection per profile; nothing here touches the network."""

from __future__ import annotations

from pathlib import Path

import pytest
from livekit.agents import AgentSession, llm, stt, tts
from livekit.agents.voice import room_io

from dialtone.config import ConfigError, load_settings
from dialtone.offline.dialogue import RuleBasedLLM
from dialtone.offline.stt import PocketSphinxSTT
from dialtone.offline.tts import EspeakTTS
from dialtone.personas import Persona, PersonaBook
from dialtone.pipeline import build_pipeline, load_vad, phone_room_options

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def persona() -> Persona:
    return PersonaBook.load(ROOT / "personas", "receptionist").pick()


async def test_offline_profile_uses_only_local_parts(persona: Persona) -> None:
    pipeline = build_pipeline(load_settings(profile="offline"), persona, load_vad())
    try:
        assert isinstance(pipeline.stt, PocketSphinxSTT)
        assert isinstance(pipeline.llm, RuleBasedLLM)
        assert isinstance(pipeline.tts, EspeakTTS)
    finally:
        await pipeline.aclose()


async def test_cloud_profile_falls_back_to_the_local_parts(persona: Persona) -> None:
    settings = load_settings(openai_api_key="sk-test", deepgram_api_key="dg-test")
    pipeline = build_pipeline(settings, persona, load_vad())
    try:
        assert isinstance(pipeline.llm, llm.FallbackAdapter)
        assert isinstance(pipeline.stt, stt.FallbackAdapter)
        assert isinstance(pipeline.tts, tts.FallbackAdapter)
        # The last link of every chain runs on this machine: no dead air on an outage.
        assert isinstance(pipeline.llm._llm_instances[-1], RuleBasedLLM)
        assert [type(x).__name__ for x in pipeline.tts._tts_instances][-1] == "EspeakTTS"
        assert [type(x).__name__ for x in pipeline.llm._llm_instances] == ["LLM", "RuleBasedLLM"]
    finally:
        await pipeline.aclose()


async def test_failover_is_tuned_for_phone_calls(persona: Persona) -> None:
    """The library defaults (10 s STT, 5 s LLM attempts, TTS retried after 0.1 s and 2 s)
    leave a caller in silence long enough to hang up; every chain uses the settings."""
    settings = load_settings(
        openai_api_key="sk-test", deepgram_api_key="dg-test", provider_timeout=0.8
    )
    pipeline = build_pipeline(settings, persona, load_vad())
    try:
        assert isinstance(pipeline.stt, stt.FallbackAdapter)
        assert isinstance(pipeline.llm, llm.FallbackAdapter)
        assert isinstance(pipeline.tts, tts.FallbackAdapter)
        assert pipeline.stt._attempt_timeout == 0.8 and pipeline.stt._max_retry_per_stt == 0
        assert pipeline.llm._attempt_timeout == 0.8 and pipeline.llm._max_retry_per_llm == 0
        assert pipeline.tts._max_retry_per_tts == 0
        options = pipeline.session_kwargs()["conn_options"]
        assert options.tts_conn_options.timeout == 0.8
        assert options.tts_conn_options.max_retry == 0
    finally:
        await pipeline.aclose()


async def test_the_session_gets_the_phone_turn_tuning(persona: Persona) -> None:
    """The audio tests in tests/simulate/test_turn_taking.py pin these by ear; this fast
    check catches a setting lost on its way to the session (livekit-agents' defaults:
    a 3 s echo-canceller warm-up that ignores barge-in over the greeting, 2 s before a
    false interruption resumes, 0.25 s of silence that splits a paused sentence)."""
    pipeline = build_pipeline(load_settings(profile="offline"), persona, load_vad())
    try:
        options = AgentSession(**pipeline.session_kwargs()).options
        assert options.aec_warmup_duration == 0.0
        interruption = options.turn_handling["interruption"]
        assert interruption["mode"] == "vad" and interruption["enabled"]
        assert interruption["resume_false_interruption"]
        assert interruption["false_interruption_timeout"] == 1.5
        assert pipeline.vad._opts.min_silence_duration == 0.55
    finally:
        await pipeline.aclose()


def test_calls_read_the_room_at_the_vads_rate() -> None:
    """A room's audio is taken at 16 kHz (the VAD's and Deepgram's rate), not
    livekit-agents' 24 kHz default; the reminder keeps its link to the callee."""
    inbound = phone_room_options()
    outbound = phone_room_options(participant_identity="callee")
    for options in (inbound, outbound):
        assert isinstance(options.audio_input, room_io.AudioInputOptions)
        assert options.audio_input.sample_rate == 16_000
    assert outbound.participant_identity == "callee"
    assert not isinstance(inbound.participant_identity, str)  # livekit-agents picks


def test_the_input_frame_size_is_a_setting() -> None:
    """`DIALTONE_INPUT_FRAME_MS`: livekit-agents' 50 ms unless asked; 100 halves the
    per-frame work (tests/simulate/test_turn_taking.py checks barge-in on it)."""
    assert load_settings().input_frame_ms == 50
    assert phone_room_options().audio_input.frame_size_ms == 50  # type: ignore[union-attr]
    framed = phone_room_options(frame_ms=load_settings(input_frame_ms=100).input_frame_ms)
    assert framed.audio_input.frame_size_ms == 100  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="DIALTONE_INPUT_FRAME_MS"):
        load_settings(input_frame_ms=55)
