"""Who answered: how often dialtone is right, and how long it takes to know.

Plays a labelled set of answers (a person, a voicemail greeting, a call screener, a
phone menu) down a simulated phone line into the reminder call's real pipeline: the
session's VAD and recogniser, livekit-agents' AMD with the profile's classifier, the
beep detector, and dialtone's answer layer (`dialtone/outbound/answering.py`). Each
answer is espeak-ng speech in the phone band (8 kHz, G.711 mu-law), with the item's
voice, rate, pitch, line noise and leading silence.

Per class: precision, recall, and the median and p95 time to decide, measured from
the moment the far end starts talking, twice: on this machine's clock (`decided`), and
as the far end's speech the deciding evidence came from (`heard`). They differ by the
recogniser's decoding time for an early look's words, which grows with the machine's
load; a call on an idle core sees about `heard` plus one look's decode (pocketsphinx
took about a tenth of a second per second of greeting here, at load 3). The progress
lines print both per item. The baseline, measured on the same calls in the same run,
is livekit-agents' AMD verdict alone (its labels mapped to ours: it files a screener
under `machine-ivr`), so the ratio is what dialtone adds. The last
line is `amd: accuracy X` over all items.

    .venv/bin/python bench/amd.py [--set bench/amd_set.yaml] [--profile offline|cloud]
        [--parallel 2] [--limit N] [--why]

A set is a YAML list of items:

    - label: screening            # human | voicemail | screening | ivr
      say: "Hi, the person you're calling is using a screening service..."
      voice: en-us+f2             # espeak-ng voice (default en-us+f2)
      rate: 0.9                   # times espeak's 175 words a minute (default 1.0)
      pitch: 50                   # espeak's 0-99 (default 50)
      noise_db: -45               # line noise level in dBFS (default: none)
      silence_before_ms: 400      # quiet line before the first word (default 300)

`--profile cloud` needs the cloud keys (OPENAI_API_KEY, DEEPGRAM_API_KEY): Deepgram
hears, the OpenAI model classifies for AMD, the phrase rules come last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialtone.config import ConfigError, Settings, load_settings
from dialtone.offline.espeak import EspeakError, synthesize
from dialtone.outbound.answer_session import CalleeEars, listen_for_answer, stt_recognizer
from dialtone.outbound.entry import amd_classifier
from dialtone.outbound.greeting_phrases import GREETING_PHRASES
from dialtone.outbound.rules import ReminderRules
from dialtone.personas import Persona, PersonaBook
from dialtone.pipeline import Pipeline, build_pipeline, load_vad
from dialtone.simulate.call_io import AgentEar
from dialtone.simulate.phone_audio import Int16Array, to_phone_line, trim_silence
from dialtone.simulate.recording import CallClock, Recording
from dialtone.simulate.reminder_call import BeepTappedLine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SET = ROOT / "bench" / "amd_set.yaml"
LABELS = ("human", "voicemail", "screening", "ivr")
SYNTH_RATE = 16000
#: After the far end stops, how long AMD alone may take before the item counts as unsure.
AMD_GRACE_S = 12.0


class Item(BaseModel):
    """One answer to play (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Literal["human", "voicemail", "screening", "ivr"]
    say: Annotated[str, Field(min_length=1)]
    voice: str = "en-us+f2"
    rate: Annotated[float, Field(ge=0.5, le=2.0)] = 1.0
    pitch: Annotated[int, Field(ge=0, le=99)] = 50
    noise_db: Annotated[float, Field(ge=-90, le=-10)] | None = None
    silence_before_ms: Annotated[int, Field(ge=0, le=5000)] = 300


class SetError(Exception):
    """The set file cannot be used; the message names the file and what to fix."""


def load_set(path: Path) -> list[Item]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SetError(f"{path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SetError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, list) or not raw:
        raise SetError(f"{path}: expected a non-empty YAML list of {{label, say}} items")
    items: list[Item] = []
    for index, entry in enumerate(raw, 1):
        try:
            items.append(Item.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "item"
            raise SetError(f"{path}: item {index}: {where}: {first['msg']}") from None
    return items


async def phone_audio(item: Item, seed: int) -> tuple[Int16Array, float]:
    """The item on the line at 8 kHz, and when its first word starts (seconds)."""
    speech = trim_silence(
        await synthesize(
            item.say, voice=item.voice, speed=item.rate, sample_rate=SYNTH_RATE, pitch=item.pitch
        )
    )
    lead = np.zeros(round(item.silence_before_ms / 1000 * SYNTH_RATE), dtype=np.int16)
    tail = np.zeros(round(0.2 * SYNTH_RATE), dtype=np.int16)
    audio = np.concatenate([lead, speech, tail]).astype(np.float64)
    if item.noise_db is not None:
        rng = np.random.default_rng(seed)
        audio += rng.normal(0.0, 32768.0 * 10 ** (item.noise_db / 20), audio.size)
    clipped = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    return to_phone_line(clipped, SYNTH_RATE), item.silence_before_ms / 1000


@dataclass(frozen=True)
class Result:
    item: Item
    ours: str
    ours_s: float | None  # from first word to our verdict
    heard_s: float | None  # from first word to the end of the audio the verdict came from
    by: str
    baseline: str
    baseline_s: float | None
    heard: str


async def play(item: Item, index: int, settings: Settings, pipeline: Pipeline) -> Result:
    """One answer through the reminder call's answer detection."""
    from livekit.agents import Agent, AgentSession
    from livekit.agents.voice.amd import AMD, AMDPredictionEvent

    samples, talk_at = await phone_audio(item, seed=index)
    clock = CallClock()
    recording = Recording(keep=False)
    ears = CalleeEars()
    line = BeepTappedLine(clock, recording, ears)
    ear = AgentEar(clock, recording)
    session: AgentSession = AgentSession(**pipeline.session_kwargs())
    session.input.audio = line
    session.output.audio = ear
    ear.start()
    baseline: asyncio.Future[tuple[AMDPredictionEvent, float]] = (
        asyncio.get_running_loop().create_future()
    )
    try:
        await session.start(agent=Agent(instructions="Say nothing."), record=False)
        amd = AMD(session, llm=amd_classifier(settings), suppress_compatibility_warning=True)

        def on_prediction(event: AMDPredictionEvent) -> None:
            if not baseline.done():
                baseline.set_result((event, clock.now()))

        amd.on("amd_prediction", on_prediction)
        async with amd:
            utterance = line.speak(samples, item.say)
            verdict = await listen_for_answer(
                session,
                ears=ears,
                amd_execute=amd.execute,
                recognize=stt_recognizer(pipeline.stt),
                clock=clock.now,
            )
            decided_at = clock.now()
            await utterance.done.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(baseline), AMD_GRACE_S)
    finally:
        line.close()
        with contextlib.suppress(Exception):
            await session.aclose()
        await ear.aclose()
    assert utterance.start is not None
    first_word = utterance.start + talk_at
    base_label, base_s = "unsure", None
    if baseline.done():
        event, at = baseline.result()
        # AMD alone: its own label, no phrases, no beep, no early look.
        base_label = {
            "human": "human",
            "machine-vm": "voicemail",
            "machine-unavailable": "voicemail",
            "machine-ivr": "ivr",
        }.get(event.category.value, "unsure")
        base_s = max(0.0, at - first_word)
    ours_s = max(0.0, decided_at - first_word)
    heard_s = ours_s
    if verdict.decided_after_s is not None and verdict.heard_after_s is not None:
        heard_s = max(0.0, ours_s - (verdict.decided_after_s - verdict.heard_after_s))
    return Result(
        item=item,
        ours=verdict.answer.value,
        ours_s=ours_s,
        heard_s=heard_s,
        by=verdict.by,
        baseline=base_label,
        baseline_s=base_s,
        heard=verdict.transcript,
    )


# --- the run -----------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass(frozen=True)
class Scores:
    accuracy: float
    per_class: dict[str, tuple[float, float, float | None, float | None, int]]
    median_s: float | None


def score(results: list[Result], *, baseline: bool, heard: bool = False) -> Scores:
    """Precision, recall, median and p95 time to decide, per class; overall accuracy."""

    def got(r: Result) -> str:
        return r.baseline if baseline else r.ours

    def took(r: Result) -> float | None:
        return r.baseline_s if baseline else r.heard_s if heard else r.ours_s

    per_class: dict[str, tuple[float, float, float | None, float | None, int]] = {}
    for label in LABELS:
        truth = [r for r in results if r.item.label == label]
        said = [r for r in results if got(r) == label]
        hits = [r for r in truth if got(r) == label]
        precision = len(hits) / len(said) if said else 0.0
        recall = len(hits) / len(truth) if truth else 0.0
        times = [t for r in truth if (t := took(r)) is not None]
        per_class[label] = (
            precision,
            recall,
            statistics.median(times) if times else None,
            _pct(times, 0.95) if times else None,
            len(truth),
        )
    right = sum(1 for r in results if got(r) == r.item.label)
    times = [t for r in results if (t := took(r)) is not None]
    return Scores(
        accuracy=right / len(results),
        per_class=per_class,
        median_s=statistics.median(times) if times else None,
    )


def _s(value: float | None) -> str:
    return "   -  " if value is None else f"{value:5.2f}s"


def report(results: list[Result]) -> str:
    ours = score(results, baseline=False)
    heard = score(results, baseline=False, heard=True)
    base = score(results, baseline=True)
    lines = [f"{len(results)} answers played", ""]
    lines.append("                               decided         heard         | AMD alone")
    lines.append(
        "class       n  precision  recall  median    p95  median    p95  |  prec  recall  median"
    )
    for label in LABELS:
        p, r, med, p95, n = ours.per_class[label]
        _hp, _hr, hmed, hp95, _ = heard.per_class[label]
        bp, br, bmed, _bp95, _ = base.per_class[label]
        lines.append(
            f"{label:<10} {n:>2}     {p:5.2f}   {r:5.2f}  {_s(med)} {_s(p95)} {_s(hmed)} {_s(hp95)}"
            f" | {bp:5.2f}   {br:5.2f}  {_s(bmed)}"
        )
    misses = [r for r in results if r.ours != r.item.label]
    if misses:
        lines += ["", "wrong:"]
        for r in misses:
            lines.append(
                f"  {r.item.label} -> {r.ours} ({r.by}; heard {r.heard!r}): {r.item.say[:60]!r}"
            )
    lines.append("")
    lines.append(
        f"median speech heard when decided: {_s(heard.median_s).strip()} "
        "(the recogniser's decoding time left out)"
    )
    lines.append(
        f"median time to decide: {_s(ours.median_s).strip()} on this machine's clock "
        f"(AMD alone {_s(base.median_s).strip()}"
        + (
            f", ratio {ours.median_s / base.median_s:.2f}x)"
            if ours.median_s and base.median_s
            else ")"
        )
    )
    lines.append(
        f"accuracy vs AMD alone: {ours.accuracy:.3f} vs {base.accuracy:.3f}"
        + (f" ({ours.accuracy / base.accuracy:.2f}x)" if base.accuracy else "")
    )
    lines.append(f"amd: accuracy {ours.accuracy:.3f}")
    return "\n".join(lines)


async def run(
    items: list[Item], settings: Settings, persona: Persona, parallel: int, *, why: bool = False
) -> list[Result]:
    """Play every item; `parallel` calls at once, each with its own pipeline (as jobs do)."""
    queue: asyncio.Queue[tuple[int, Item]] = asyncio.Queue()
    for pair in enumerate(items):
        queue.put_nowait(pair)
    results: dict[int, Result] = {}

    async def slot() -> None:
        pipeline = build_pipeline(
            settings, persona, load_vad(), dialogue=ReminderRules, phrases=GREETING_PHRASES
        )
        # A job's recogniser is up before the callee answers (the session starts before
        # the dial, and a phone rings for seconds): warm each one up the same way.
        warm = np.zeros(SYNTH_RATE // 2, dtype=np.int16)
        await stt_recognizer(pipeline.stt)(warm, SYNTH_RATE)
        try:
            while not queue.empty():
                index, item = queue.get_nowait()
                result = await play(item, index, settings, pipeline)
                results[index] = result
                mark = "ok " if result.ours == item.label else "BAD"
                print(
                    f"  {mark} {index + 1:>3}/{len(items)} {item.label:<9} -> {result.ours:<9} "
                    f"{_s(result.ours_s)} heard {_s(result.heard_s)} "
                    f"(AMD alone {result.baseline}, {_s(result.baseline_s)})"
                    + (f" by {result.by}: {result.heard!r}" if why else ""),
                    flush=True,
                )
        finally:
            await pipeline.aclose()

    await asyncio.gather(*(slot() for _ in range(max(1, parallel))))
    return [results[i] for i in sorted(results)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="YAML list of items")
    parser.add_argument("--profile", choices=("offline", "cloud"), default="offline")
    parser.add_argument("--parallel", type=int, default=2, help="calls played at once")
    parser.add_argument("--limit", type=int, default=None, help="play only the first N items")
    parser.add_argument(
        "--why", action="store_true", help="print what decided each item, and the words heard"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    try:
        items = load_set(args.set)
    except SetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit is not None:
        items = items[: args.limit]
    os.environ["DIALTONE_PROFILE"] = args.profile
    try:
        settings = load_settings()
        persona = PersonaBook.load(settings.persona_dir, settings.default_persona).pick(
            requested="reminder"
        )
        settings.resolved_profile  # noqa: B018 (raises when the cloud keys are missing)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"who answered: {len(items)} answers from {args.set}, profile {args.profile}")
    try:
        results = asyncio.run(run(items, settings, persona, args.parallel, why=args.why))
    except EspeakError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
