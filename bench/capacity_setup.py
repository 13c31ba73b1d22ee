"""What a capacity call runs on, per variant and profile, in either shape.

Profiles:

- `fakes`: the scripted providers of `tests/fakes.py`, answering at once. Ours vs bare
  measures what dialtone adds around the same providers.
- `cloud`: ours is `dialtone.pipeline.build_pipeline` in the cloud profile, with
  Deepgram's and OpenAI's classes swapped for the scripted fakes with a cloud
  provider's streaming delays (`capacity_fakes.py`): whatever the cloud profile builds
  around its providers (fallback chains, the offline fallback links) is what is
  measured, and changes to it show up on the next run. Bare gets the same delayed
  fakes directly. The recogniser streams like Deepgram's (`StreamingSTT`), so each
  call runs one VAD stream, as a call on Deepgram does.
- `offline`: ours is `build_pipeline` in the offline profile (pocketsphinx recogniser
  worker, espeak, the rule dialogue): the real stack, nothing faked. Bare has no
  offline equivalent.

Bare is what a livekit-agents user gets with the same choices dialtone makes below the
agent: the same VAD (livekit-agents' native Silero, the same tuning, inference on the
event loop: `bare_vad`, the same configuration as `dialtone.pipeline.load_vad` without
importing dialtone), the same line framing and the same fakes. `describe_call` says
what a call runs on, so a test can hold the two variants equal except for dialtone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
from livekit.agents import llm, stt, tts, vad

from bench.capacity_call import SCRIPT, CallSetup, MakeProviders, OursSetup, Providers, respond
from bench.capacity_fakes import DelayedLLM, DelayedTTS, StreamingSTT
from dialtone.simulate.call_io import CallerLine
from dialtone.simulate.phone_audio import Int16Array
from dialtone.simulate.recording import CallClock
from tests.fakes import ScriptedLLM, ScriptedSTT, ToneTTS

if TYPE_CHECKING:
    from dialtone.config import Settings

Profile = Literal["fakes", "cloud", "offline"]
PROFILES: tuple[Profile, ...] = ("fakes", "cloud", "offline")
ROOT = Path(__file__).resolve().parents[1]
_T = TypeVar("_T")

#: dialtone's VAD tuning (`dialtone.pipeline.load_vad`), written out so that bare does
#: not import dialtone; `tests/test_bench_capacity.py` holds the two equal.
BARE_VAD_OPTIONS: dict[str, float] = {
    "min_silence_duration": 0.55,
    "min_speech_duration": 0.05,
    "activation_threshold": 0.5,
    "prefix_padding_duration": 0.5,
}


class _Inline(Executor):
    """Inference on the calling thread (the event loop), as dialtone's VAD runs it."""

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


_INLINE = _Inline()


def bare_vad() -> vad.VAD:
    """Bare's VAD: the class, tuning and executor of dialtone's, built without dialtone."""
    from livekit.agents import inference

    return inference.VAD(model="silero", executor=_INLINE, **BARE_VAD_OPTIONS)


@dataclass
class BareProviders:
    """Bare's call: the providers as a livekit-agents user passes them, VAD turns."""

    vad: vad.VAD
    stt: stt.STT
    llm: llm.LLM
    tts: tts.TTS

    def session_kwargs(self) -> dict[str, Any]:
        # VAD turn detection like ours: the framework's default turn-detector model would
        # measure that model (seconds per turn on this CPU), not the cost of dialtone.
        return {
            "vad": self.vad,
            "stt": self.stt,
            "llm": self.llm,
            "tts": self.tts,
            "turn_handling": {"turn_detection": "vad"},
        }

    async def aclose(self) -> None:
        for part in (self.stt, self.llm, self.tts):
            await part.aclose()


def bare_providers(profile: Profile, load_vad: Callable[[], vad.VAD]) -> MakeProviders:
    if profile == "offline":
        raise ValueError("bare has no offline profile: measure ours alone (--variants ours)")

    def make(line: CallerLine, clock: CallClock) -> Providers:
        if profile == "cloud":
            return BareProviders(
                load_vad(), StreamingSTT(line, clock), DelayedLLM(respond), DelayedTTS()
            )
        return BareProviders(load_vad(), ScriptedSTT(line), ScriptedLLM(respond), ToneTTS())

    return make


#: Held while a cloud pipeline is built with the fakes swapped in: calls on the thread
#: executor (worker groups) build theirs on threads of one process at once.
_BUILDING = threading.Lock()


@contextlib.contextmanager
def fake_cloud(line: CallerLine, clock: CallClock) -> Iterator[None]:
    """Deepgram's and OpenAI's classes return the delayed fakes while a pipeline is built.

    `build_pipeline` is synchronous, so calls of one event loop never see each other's;
    calls on threads of one process wait for each other (`_BUILDING`): without it a call
    could get the real Deepgram class back from another's restore, fail over to the
    offline recogniser and measure that.
    """
    from livekit.plugins import deepgram, openai

    with _BUILDING:
        saved = (deepgram.STT, openai.LLM, openai.TTS)
        try:
            setattr(deepgram, "STT", lambda **_: StreamingSTT(line, clock))  # noqa: B010
            setattr(openai, "LLM", lambda **_: DelayedLLM(respond))  # noqa: B010
            setattr(openai, "TTS", lambda **_: DelayedTTS())  # noqa: B010
            yield
        finally:
            deepgram.STT, openai.LLM, openai.TTS = saved  # type: ignore[misc]


#: Diagnosis only (`ours+upstreamchain`): the recogniser chain as livekit-agents' own
#: `stt.FallbackAdapter`, what ours ran before `dialtone.stt_failover`.
UPSTREAM_CHAIN = "BENCH_UPSTREAM_STT_CHAIN"


@contextlib.contextmanager
def _upstream_chain(wanted: bool) -> Iterator[None]:
    import dialtone.pipeline

    saved = dialtone.pipeline.DirectFallbackSTT
    if wanted:
        dialtone.pipeline.DirectFallbackSTT = stt.FallbackAdapter  # type: ignore[misc]
    try:
        yield
    finally:
        dialtone.pipeline.DirectFallbackSTT = saved  # type: ignore[misc]


def profile_settings(profile: Profile, data_dir: Path) -> Settings:
    from dialtone.config import load_settings

    if profile == "cloud":
        return load_settings(
            data_dir=data_dir,
            persona_dir=ROOT / "personas",
            profile="cloud",
            openai_api_key="sk-bench-unused",
            deepgram_api_key="bench-unused",
        )
    return load_settings(data_dir=data_dir, persona_dir=ROOT / "personas", profile="offline")


def ours_providers(
    profile: Profile, settings: Settings, setup: OursSetup, load_vad: Callable[[], vad.VAD]
) -> MakeProviders:
    from dialtone.pipeline import Pipeline, build_pipeline

    def make(line: CallerLine, clock: CallClock) -> Providers:
        if profile == "fakes":
            return Pipeline(
                vad=load_vad(), stt=ScriptedSTT(line), llm=ScriptedLLM(respond), tts=ToneTTS()
            )
        if profile == "cloud":
            with fake_cloud(line, clock), _upstream_chain(bool(os.environ.get(UPSTREAM_CHAIN))):
                pipeline = build_pipeline(settings, setup.persona, load_vad())
            if os.environ.get("BENCH_NO_STT_CHAIN"):  # diagnosis only: no recogniser fallback
                pipeline.stt = _leaf(pipeline.stt)  # type: ignore[assignment]
            return pipeline
        return build_pipeline(settings, setup.persona, load_vad())

    return make


async def caller_audio() -> dict[str, Int16Array]:
    """The script's caller lines as espeak says them, on the phone line at 16 kHz."""
    from dialtone.offline.espeak import synthesize
    from dialtone.simulate.phone_audio import to_phone_line, trim_silence

    return {
        line.text: to_phone_line(trim_silence(await synthesize(line.text)), 16000)
        for line in SCRIPT
    }


def save_audio(audio: dict[str, Int16Array], path: Path) -> None:
    np.savez(path, **{f"line{i}": audio[line.text] for i, line in enumerate(SCRIPT)})


def load_audio(path: Path) -> dict[str, Int16Array]:
    with np.load(path) as saved:
        return {line.text: saved[f"line{i}"] for i, line in enumerate(SCRIPT)}


def persona_lines() -> tuple[str, str]:
    """(instructions, greeting) of the default persona, for bare's agent."""
    from dialtone.personas import PersonaBook

    settings = profile_settings("offline", Path(tempfile.gettempdir()))
    persona = PersonaBook.load(settings.persona_dir, settings.default_persona).pick()
    return persona.system_prompt(), persona.greeting


def make_setup(
    *,
    variant: str,
    profile: Profile,
    audio: dict[str, Int16Array],
    instructions: str,
    greeting: str,
    data_dir: Path,
    line: str = "room16",
    load_vad: Callable[[], vad.VAD] | None = None,
) -> CallSetup:
    """One run's calls: bare imports nothing of dialtone but the simulator's line.

    `load_vad` gives each call its VAD (a job process's prewarmed one); by default
    bare's is `bare_vad` and ours' `dialtone.pipeline.load_vad`, one per call.
    """
    if variant == "bare":
        return CallSetup(
            variant="bare",
            audio=audio,
            instructions=instructions,
            greeting=greeting,
            providers=bare_providers(profile, load_vad or bare_vad),
            line=line,
        )
    from dialtone.messages.store import message_store
    from dialtone.personas import PersonaBook
    from dialtone.pipeline import load_vad as dialtone_vad
    from dialtone.programs import load_program

    settings = profile_settings(profile, data_dir)
    if line == "room16" and settings.input_frame_ms != 50:  # DIALTONE_INPUT_FRAME_MS
        line = f"room16_{settings.input_frame_ms}"
    persona = PersonaBook.load(settings.persona_dir, settings.default_persona).pick()
    ours = OursSetup(
        persona=persona,
        messages=message_store(settings),
        make_agent=load_program("receptionist", ROOT / "agents").make_agent,
    )
    return CallSetup(
        variant="ours",
        audio=audio,
        instructions=instructions,
        greeting=greeting,
        providers=ours_providers(profile, settings, ours, load_vad or dialtone_vad),
        ours=ours,
        line=line,
    )


def _executor_kind(executor: Executor | None) -> str:
    """How a VAD runs its inference, told by running something on it."""
    if executor is None:
        return "a thread per stream"
    ran_on = executor.submit(threading.get_ident).result()
    return "inline" if ran_on == threading.get_ident() else f"threads ({type(executor).__name__})"


def describe_vad(model: vad.VAD) -> dict[str, Any]:
    """A VAD's class, options and executor: what decides its per-frame work."""
    options = getattr(model, "_opts", None)
    return {
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "options": dataclasses.asdict(options) if dataclasses.is_dataclass(options) else None,
        "executor": _executor_kind(getattr(model, "_executor", None)),
    }


def _leaf(part: object) -> object:
    """The provider under dialtone's wrappers: fallback chains (first link), deadlines."""
    while True:
        for attribute in ("_stt_instances", "_llm_instances", "_tts_instances"):
            links = getattr(part, attribute, None)
            if links:
                part = links[0]
                break
        else:
            inner = getattr(part, "wrapped_stt", None) or getattr(part, "inner", None)
            if inner is None:
                return part
            part = inner


def _name(part: object) -> str:
    return f"{type(part).__module__}.{type(part).__qualname__}"


def describe_call(setup: CallSetup, providers: Providers) -> dict[str, Any]:
    """What one call of a variant runs on below the agent, for comparing the variants.

    The VAD, the providers under dialtone's wrappers, whether the recogniser streams
    (a non-streaming one gets a `StreamAdapter` with a VAD stream of its own: two per
    call) and how the line frames the caller's audio.
    """
    kwargs = providers.session_kwargs()
    recogniser = _leaf(kwargs["stt"])
    streaming = bool(getattr(getattr(recogniser, "capabilities", None), "streaming", False))
    return {
        "vad": describe_vad(kwargs["vad"]),
        "stt": _name(recogniser),
        "llm": _name(_leaf(kwargs["llm"])),
        "tts": _name(_leaf(kwargs["tts"])),
        "stt_streams": streaming,
        "vad_streams_per_call": 1 if streaming else 2,
        "line": setup.line,
    }
