"""The speech pipeline of a call: VAD, STT, LLM, TTS and turn handling, per profile.

`cloud` uses Deepgram's telephony model, OpenAI (or any OpenAI-compatible server) for
the LLM and the voice, each behind a fallback chain whose last link runs on this
machine: when a provider is down the caller hears the offline voice and the persona's
rule-based dialogue instead of dead air. `offline` uses only the local links.

Turn handling is tuned for phone audio and is the same for both profiles, because the
simulator must exercise the settings that answer real calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from livekit.agents import llm, stt, tts, vad
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.voice.turn import TurnHandlingOptions

from .config import Profile, Settings
from .personas import Persona

logger = logging.getLogger("dialtone.pipeline")

# Silence (s) the VAD waits before it calls speech over. 0.55 s keeps "Yes, ... I can
# make it on Tuesday" one turn; the framework's 0.25 s default split it in two and the
# agent answered the "yes" alone (measured with the split_sentence simulated call).
VAD_MIN_SILENCE = 0.55
# Phone callers pause mid-sentence; half a second more before the turn ends.
ENDPOINTING_MIN_DELAY = 0.5
ENDPOINTING_MAX_DELAY = 3.0
# A caller must talk for this long to interrupt: long enough to ignore a cough or
# "mm-hm", short enough that barge-in feels immediate.
INTERRUPTION_MIN_DURATION = 0.5
FALSE_INTERRUPTION_TIMEOUT = 1.5

TURN_HANDLING: TurnHandlingOptions = {
    "turn_detection": "vad",
    "endpointing": {
        "mode": "fixed",
        "min_delay": ENDPOINTING_MIN_DELAY,
        "max_delay": ENDPOINTING_MAX_DELAY,
    },
    "interruption": {
        "enabled": True,
        # "adaptive" needs LiveKit Cloud and falls back with a warning: be explicit.
        "mode": "vad",
        "min_duration": INTERRUPTION_MIN_DURATION,
        "resume_false_interruption": True,
        "false_interruption_timeout": FALSE_INTERRUPTION_TIMEOUT,
    },
}

# The default 3 s echo-canceller warm-up ignores barge-in at the start of every call,
# exactly when callers talk over the greeting. Phone audio from the carrier carries no
# echo of our own playback that the warm-up would protect against.
AEC_WARMUP_DURATION = 0.0


def load_vad() -> vad.VAD:
    """Silero VAD (its model ships in the plugin wheel), tuned for phone turns."""
    from livekit.plugins import silero

    loaded: vad.VAD = silero.VAD.load(min_silence_duration=VAD_MIN_SILENCE)
    return loaded


@dataclass
class Pipeline:
    """What an AgentSession needs for one call."""

    vad: vad.VAD
    stt: stt.STT
    llm: llm.LLM
    tts: tts.TTS

    async def aclose(self) -> None:
        """Close the providers: AgentSession does not close models it was given, and
        the offline recogniser owns a worker process."""
        for part in (self.stt, self.llm, self.tts):
            try:
                await part.aclose()
            except Exception:  # closing must not mask why the call ended
                logger.exception("closing %s failed", type(part).__name__)

    def session_kwargs(self) -> dict[str, Any]:
        return {
            "vad": self.vad,
            "stt": self.stt,
            "llm": self.llm,
            "tts": self.tts,
            "turn_handling": TURN_HANDLING,
            "aec_warmup_duration": AEC_WARMUP_DURATION,
        }


#: Builds the keyless dialogue for a persona (the last LLM link in every profile).
Dialogue = Callable[[Persona], llm.LLM]


def build_pipeline(
    settings: Settings, persona: Persona, vad_model: vad.VAD, *, dialogue: Dialogue | None = None
) -> Pipeline:
    """Providers for `persona` in the resolved profile (raises ConfigError on bad keys).

    `dialogue` replaces the receptionist's rule-based dialogue (the reminder agent
    brings its own rules, `dialtone/outbound/rules.py`).
    """
    if settings.resolved_profile is Profile.CLOUD:
        return _cloud(settings, persona, vad_model, dialogue)
    return _offline(persona, vad_model, dialogue)


def _offline_parts(
    persona: Persona, dialogue: Dialogue | None = None
) -> tuple[stt.STT, llm.LLM, tts.TTS]:
    from .offline.dialogue import RuleBasedLLM
    from .offline.stt import PocketSphinxSTT
    from .offline.tts import EspeakTTS

    return (
        PocketSphinxSTT(phrases=persona.phrases()),
        RuleBasedLLM(persona) if dialogue is None else dialogue(persona),
        EspeakTTS(voice=persona.voice.offline, speed=persona.voice.speed),
    )


def _offline(persona: Persona, vad_model: vad.VAD, dialogue: Dialogue | None) -> Pipeline:
    local_stt, local_llm, local_tts = _offline_parts(persona, dialogue)
    return Pipeline(vad=vad_model, stt=local_stt, llm=local_llm, tts=local_tts)


def _cloud(
    settings: Settings, persona: Persona, vad_model: vad.VAD, dialogue: Dialogue | None
) -> Pipeline:
    from livekit.plugins import deepgram, openai

    local_stt, local_llm, local_tts = _offline_parts(persona, dialogue)
    openai_key = settings.openai_api_key.get_secret_value() or "unused"
    base_url: NotGivenOr[str] = settings.openai_base_url or NOT_GIVEN
    primary_stt = deepgram.STT(
        model=settings.stt_model,
        language=settings.stt_language,
        api_key=settings.deepgram_api_key.get_secret_value(),
    )
    llms: list[llm.LLM] = [
        openai.LLM(model=model, api_key=openai_key, base_url=base_url)
        for model in dict.fromkeys([settings.llm_model, settings.llm_fallback_model])
    ]
    voice = settings.tts_voice or persona.voice.cloud
    primary_tts = openai.TTS(
        model=settings.tts_model, voice=voice, api_key=openai_key, base_url=base_url
    )
    return Pipeline(
        vad=vad_model,
        stt=stt.FallbackAdapter([primary_stt, local_stt], vad=vad_model),
        llm=llm.FallbackAdapter([*llms, local_llm]),
        tts=tts.FallbackAdapter([primary_tts, local_tts]),
    )
