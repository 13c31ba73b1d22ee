"""The speech pipeline of a call: VAD, STT, LLM, TTS and turn handling, per profile.

`cloud` uses Deepgram's telephony model, OpenAI (or any OpenAI-compatible server) for
the LLM and the voice, each behind a fallback chain whose last link runs on this
machine: when a provider is down the caller hears the offline voice and the persona's
rule-based dialogue instead of dead air. `offline` uses only the local links.

Failover is tuned for phone calls (`Failover`, docs/configuration.md): a provider that
has not started answering within `DIALTONE_PROVIDER_TIMEOUT` is skipped for the next
link, and every switch is counted in `dialtone_provider_fallbacks_total` and reported to
listeners (the call record notes the turns answered while a provider was down).

Turn handling is tuned for phone audio and is the same for both profiles, because the
simulator must exercise the settings that answer real calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from livekit.agents import APIConnectOptions, llm, stt, tts, vad
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.voice import room_io
from livekit.agents.voice.agent_session import SessionConnectOptions
from livekit.agents.voice.turn import TurnHandlingOptions
from prometheus_client import Counter

from .config import Profile, Settings
from .metrics import REGISTRY
from .personas import Persona
from .stt_failover import DirectFallbackSTT
from .tts_failover import DeadlineFallbackTTS

logger = logging.getLogger("dialtone.pipeline")
_T = TypeVar("_T")

# Silence (s) the VAD waits before it calls speech over. 0.55 s keeps "Yes, ... I can
# make it on Tuesday" one turn; the framework's 0.25 s default split it in two and the
# agent answered the "yes" alone (measured with the split_sentence simulated call).
VAD_MIN_SILENCE = 0.55
# Speech (s) before the VAD calls it speech, the probability that counts as speech, and
# the audio kept before the start: the silero values barge-in was tuned with, stated
# so that a changed library default cannot move them.
VAD_MIN_SPEECH = 0.05
VAD_ACTIVATION = 0.5
VAD_PREFIX_PADDING = 0.5
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

DEEPGRAM_LISTEN_URL = "https://api.deepgram.com/v1/listen"


#: The rate a call's audio is taken from the room at. A phone leg is 8 kHz narrowband
#: whatever the room carries; 16 kHz is the rate the VAD and Deepgram work at, so the
#: room's one resampling serves them all. livekit-agents' 24 kHz default made every
#: frame be resampled again for the VAD (and by the recogniser): measured with
#: `bench/line_cost.py --lines room,room16`, about 3 ms of CPU per call-second less.
PHONE_INPUT_RATE = 16_000


def phone_room_options(
    *, participant_identity: str | None = None, frame_ms: int = 50
) -> room_io.RoomOptions:
    """How a call's session reads its room: at `PHONE_INPUT_RATE` in `frame_ms` frames
    (`DIALTONE_INPUT_FRAME_MS`), linked to the SIP participant `participant_identity`
    when given (else livekit-agents' own choice).

    The VAD, the session's forwarding and the recogniser's push each run once a frame:
    100 ms frames halve that work against livekit-agents' 50 ms, and delay what the VAD
    hears by up to one frame more (barge-in and end of turn react up to 50 ms later).
    """
    audio = room_io.AudioInputOptions(sample_rate=PHONE_INPUT_RATE, frame_size_ms=frame_ms)
    if participant_identity is None:
        return room_io.RoomOptions(audio_input=audio)
    return room_io.RoomOptions(audio_input=audio, participant_identity=participant_identity)


ProviderKind = Literal["stt", "llm", "tts"]
#: Told (kind, provider, available) when a link of a fallback chain goes down or back up.
FallbackListener = Callable[[ProviderKind, str, bool], None]

PROVIDER_FALLBACKS = Counter(
    "dialtone_provider_fallbacks",
    "Times a link of a speech or language fallback chain failed and the call moved on to "
    "the next link, by the failed link's provider (deepgram, openai, offline) and kind",
    ["provider", "kind"],
    registry=REGISTRY,
)
for _provider, _kind in (("deepgram", "stt"), ("openai", "llm"), ("openai", "tts")):
    PROVIDER_FALLBACKS.labels(_provider, _kind)


@dataclass(frozen=True)
class Failover:
    """How long a link of a fallback chain gets before the next one answers."""

    attempt_timeout: float = 1.0
    retries: int = 0
    retry_interval: float = 0.2

    @classmethod
    def from_settings(cls, settings: Settings) -> Failover:
        return cls(
            attempt_timeout=settings.provider_timeout,
            retries=settings.provider_retries,
            retry_interval=settings.provider_retry_interval,
        )

    def connect_options(self) -> SessionConnectOptions:
        """The session's per-request options: the TTS chain reads its retries from here."""
        options = APIConnectOptions(
            max_retry=self.retries, retry_interval=self.retry_interval, timeout=self.attempt_timeout
        )
        return SessionConnectOptions(
            stt_conn_options=options, llm_conn_options=options, tts_conn_options=options
        )


class InlineExecutor(Executor):
    """Runs the VAD's inference on the calling thread, as the event loop's own work.

    A native Silero window takes about 20 us; handing each of the 31 windows a second to
    a thread and back cost a job process more than the inference (profiled with py-spy:
    a tenth of its event loop's busy time), and measured about 10 % of a call's steady
    CPU (bench/line_cost.py). At 100 calls in one process the loop runs about 65 ms of
    inference a second, which a second thread would not take off it (one GIL).
    """

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the awaiting stream gets it, as from a thread
            future.set_exception(exc)
        return future


_INLINE = InlineExecutor()


def load_vad(*, executor: Executor | None = None) -> vad.VAD:
    """The VAD for one call: livekit-agents' native Silero, tuned for phone turns.

    The native model is loaded once per process (when `livekit.agents.inference` is first
    imported) and each `stream()` keeps its own state, so a call's VAD object costs next
    to nothing: build one per call. Do not share one across calls in a process: a VAD
    reports every stream's metrics to every session listening on it (quadratic work, and
    one call's usage counted in all). It runs in about half the CPU of the silero
    plugin's ONNX VAD per second of phone audio (bench/vad_cost.py). Every option that
    shapes a turn is given here, not left to a library default, so barge-in and
    end-of-turn stay as tuned if a default changes. Inference runs on the event loop
    (`InlineExecutor`) unless `executor` says otherwise, instead of the library's one
    thread per stream.
    """
    from livekit.agents import inference

    return inference.VAD(
        model="silero",
        min_silence_duration=VAD_MIN_SILENCE,
        min_speech_duration=VAD_MIN_SPEECH,
        activation_threshold=VAD_ACTIVATION,
        prefix_padding_duration=VAD_PREFIX_PADDING,
        executor=executor or _INLINE,
    )


@dataclass
class Pipeline:
    """What an AgentSession needs for one call."""

    vad: vad.VAD
    stt: stt.STT
    llm: llm.LLM
    tts: tts.TTS
    failover: Failover = field(default_factory=Failover)
    # id() of each chain link -> (kind, provider label): metric labels stay a small set.
    links: dict[int, tuple[ProviderKind, str]] = field(default_factory=dict)
    _listeners: list[FallbackListener] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.stt, stt.FallbackAdapter):
            self.stt.on("stt_availability_changed", lambda e: self._changed(e.stt, e.available))
        if isinstance(self.llm, llm.FallbackAdapter):
            self.llm.on("llm_availability_changed", lambda e: self._changed(e.llm, e.available))
        if isinstance(self.tts, tts.FallbackAdapter):
            self.tts.on("tts_availability_changed", lambda e: self._changed(e.tts, e.available))

    def on_fallback(self, listener: FallbackListener) -> None:
        """Call `listener` whenever a chain link goes down (a fallback) or recovers."""
        self._listeners.append(listener)

    def _changed(self, link: object, available: bool) -> None:
        kind, provider = self.links.get(id(link), ("stt", "unknown"))
        if not available:
            PROVIDER_FALLBACKS.labels(provider, kind).inc()
            logger.warning("%s %s is down: the call goes on with the next link", kind, provider)
        for listener in self._listeners:
            try:
                listener(kind, provider, available)
            except Exception:  # a listener must not break the call's audio
                logger.exception("fallback listener failed")

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
            "conn_options": self.failover.connect_options(),
            "aec_warmup_duration": AEC_WARMUP_DURATION,
        }


#: Builds the keyless dialogue for a persona (the last LLM link in every profile).
Dialogue = Callable[[Persona], llm.LLM]


def build_pipeline(
    settings: Settings,
    persona: Persona,
    vad_model: vad.VAD,
    *,
    dialogue: Dialogue | None = None,
    phrases: Sequence[str] = (),
) -> Pipeline:
    """Providers for `persona` in the resolved profile (raises ConfigError on bad keys).

    `dialogue` replaces the receptionist's rule-based dialogue (the reminder agent
    brings its own rules, `dialtone/outbound/rules.py`). `phrases` are more sentences
    for the offline recogniser to expect (the reminder's: mailbox, screener and menu
    greetings, so who answered can be told from the words).
    """
    if settings.resolved_profile is Profile.CLOUD:
        return _cloud(settings, persona, vad_model, dialogue, phrases)
    return _offline(persona, vad_model, dialogue, phrases)


def _offline_parts(
    persona: Persona, dialogue: Dialogue | None = None, phrases: Sequence[str] = ()
) -> tuple[stt.STT, llm.LLM, tts.TTS]:
    from .offline.dialogue import RuleBasedLLM
    from .offline.stt import PocketSphinxSTT
    from .offline.tts import EspeakTTS

    return (
        PocketSphinxSTT(phrases=[*persona.phrases(), *phrases]),
        RuleBasedLLM(persona) if dialogue is None else dialogue(persona),
        EspeakTTS(voice=persona.voice.offline, speed=persona.voice.speed),
    )


def _offline(
    persona: Persona, vad_model: vad.VAD, dialogue: Dialogue | None, phrases: Sequence[str]
) -> Pipeline:
    local_stt, local_llm, local_tts = _offline_parts(persona, dialogue, phrases)
    return Pipeline(vad=vad_model, stt=local_stt, llm=local_llm, tts=local_tts)


def _cloud(
    settings: Settings,
    persona: Persona,
    vad_model: vad.VAD,
    dialogue: Dialogue | None,
    phrases: Sequence[str],
) -> Pipeline:
    from livekit.plugins import deepgram, openai

    failover = Failover.from_settings(settings)
    local_stt, local_llm, local_tts = _offline_parts(persona, dialogue, phrases)
    openai_key = settings.openai_api_key.get_secret_value() or "unused"
    base_url: NotGivenOr[str] = settings.openai_base_url or NOT_GIVEN
    primary_stt = deepgram.STT(
        model=settings.stt_model,
        language=settings.stt_language,
        api_key=settings.deepgram_api_key.get_secret_value(),
        base_url=settings.deepgram_base_url or DEEPGRAM_LISTEN_URL,
    )
    llms: list[llm.LLM] = [
        openai.LLM(model=model, api_key=openai_key, base_url=base_url)
        for model in dict.fromkeys(
            m for m in (settings.llm_model, settings.llm_fallback_model) if m
        )
    ]
    voice = settings.tts_voice or persona.voice.cloud
    primary_tts = openai.TTS(
        model=settings.tts_model, voice=voice, api_key=openai_key, base_url=base_url
    )
    links: dict[int, tuple[ProviderKind, str]] = {
        id(primary_stt): ("stt", "deepgram"),
        **{id(x): ("llm", "openai") for x in llms},
        id(primary_tts): ("tts", "openai"),
        id(local_llm): ("llm", "offline"),
        id(local_tts): ("tts", "offline"),
    }
    # livekit-agents' own chain with one queue and task hop less per frame
    # (`dialtone/stt_failover.py`): the cloud profile's largest cost over a bare call.
    stt_chain = DirectFallbackSTT(
        [primary_stt, local_stt],
        vad=vad_model,
        attempt_timeout=failover.attempt_timeout,
        max_retry_per_stt=failover.retries,
        retry_interval=failover.retry_interval,
    )
    # The offline recogniser is wrapped in a StreamAdapter by the chain: label that one.
    links[id(stt_chain._stt_instances[-1])] = ("stt", "offline")
    return Pipeline(
        vad=vad_model,
        stt=stt_chain,
        llm=llm.FallbackAdapter(
            [*llms, local_llm],
            attempt_timeout=failover.attempt_timeout,
            max_retry_per_llm=failover.retries,
            retry_interval=failover.retry_interval,
        ),
        # OpenAI's voice must start within the attempt timeout: its plugin would wait
        # 30 s on a server that accepted and stays silent (`dialtone/tts_failover.py`).
        tts=DeadlineFallbackTTS(
            [primary_tts, local_tts],
            first_audio={primary_tts: failover.attempt_timeout},
            max_retry_per_tts=failover.retries,
            retry_interval=failover.retry_interval,
        ),
        failover=failover,
        links=links,
    )
