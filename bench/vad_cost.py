"""CPU a VAD costs per second of phone audio, through its stream, as a call uses it.

Plays the same 8 kHz phone-line audio (espeak-ng sentences through G.711 mu-law, with
pauses between them) in 20 ms frames through each VAD's `stream()` and counts the
process's CPU time (every thread: the VAD's inference executor and livekit's native
resampler included) per second of audio. Paced (the default), `--streams` streams each
get a frame every 20 ms of wall time, as concurrent calls do, so the per-frame wake-ups
and thread hand-offs a call pays are counted; `--unpaced` pushes as fast as the stream
takes frames (inference cost alone). The variants run interleaved, in alternating
order, so the shared machine's noise falls on all; ratios are against the silero plugin
measured in the same run. `offline_adapter` is the second VAD path of an offline call:
the StreamAdapter the session wraps the non-streaming offline recogniser in (its own
VAD stream on the same audio), with decoding itself left out. "late" counts the VADs'
own "inference is slower than realtime" warnings (a window answered over 200 ms late),
"build ms" the CPU to make one VAD object (what making one per call costs), "first MB"
the resident memory the first one adds to a fresh process (what each job process paid
in its prewarm). Figures only.

    .venv/bin/python bench/vad_cost.py [--seconds 10] [--streams 10] [--repeats 3]
        [--unpaced]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from livekit import rtc
from livekit.agents import APIConnectOptions, stt, vad
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

from dialtone.offline.espeak import synthesize
from dialtone.pipeline import VAD_MIN_SILENCE
from dialtone.simulate.phone_audio import PHONE_RATE, to_phone_line, trim_silence

FRAME = PHONE_RATE // 50  # 20 ms, what a SIP trunk delivers
LINES = (
    "Hello, I would like to book an appointment for next week.",
    "Yes, I can make it on Tuesday.",
    "What are your opening hours on Friday?",
    "Thank you, goodbye.",
)


def silero_plugin() -> vad.VAD:
    from livekit.plugins import silero

    loaded: vad.VAD = silero.VAD.load(min_silence_duration=VAD_MIN_SILENCE)
    return loaded


def native() -> vad.VAD:
    from livekit.agents import inference

    return inference.VAD(model="silero", min_silence_duration=VAD_MIN_SILENCE)


def native_one_thread() -> vad.VAD:
    """Every stream's inference on one shared thread instead of a thread per stream."""
    from livekit.agents import inference

    return inference.VAD(
        model="silero", min_silence_duration=VAD_MIN_SILENCE, executor=SHARED_EXECUTOR
    )


def dialtone_load_vad() -> vad.VAD:
    from dialtone.pipeline import load_vad

    return load_vad()


class Unheard(stt.STT):
    """A non-streaming recogniser that hears nothing, at once: the offline recogniser's
    own decoding (in its worker process) is not what this measures."""

    def __init__(self) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        return stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives=[])


def offline_stt_adapter() -> stt.STT:
    """What the session wraps the offline recogniser in: a second VAD stream per call
    (its own resampling and inference), plus the adapter's frame forwarding."""
    return stt.StreamAdapter(stt=Unheard(), vad=dialtone_load_vad())


SHARED_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench.vad")
VARIANTS: dict[str, Callable[[], vad.VAD | stt.STT]] = {
    "silero_plugin": silero_plugin,
    "inference": native,
    "inference_1thread": native_one_thread,
    "load_vad": dialtone_load_vad,
    "offline_adapter": offline_stt_adapter,
}


async def phone_audio(seconds: float) -> np.ndarray:
    """Speech with 0.8 s pauses, looped to `seconds` of 8 kHz phone audio."""
    pause = np.zeros(int(0.8 * PHONE_RATE), dtype=np.int16)
    parts: list[np.ndarray] = []
    for text in LINES:
        parts += [to_phone_line(trim_silence(await synthesize(text)), 16000), pause]
    one = np.concatenate(parts)
    total = int(seconds * PHONE_RATE)
    return np.resize(one, total - total % FRAME)


async def play(model: vad.VAD | stt.STT, audio: np.ndarray, *, paced: bool) -> int:
    """Push `audio` through one stream; the speech segments it found."""
    stream = model.stream()
    segments = 0

    async def read() -> None:
        nonlocal segments
        async for event in stream:
            segments += event.type == "end_of_speech"  # a VAD's or a recogniser's

    reader = asyncio.create_task(read())
    loop = asyncio.get_running_loop()
    began = loop.time()
    for index, offset in enumerate(range(0, audio.size, FRAME)):
        chunk = audio[offset : offset + FRAME]
        stream.push_frame(rtc.AudioFrame(chunk.tobytes(), PHONE_RATE, 1, FRAME))
        if paced:
            await asyncio.sleep(max(0.0, began + (index + 1) * 0.02 - loop.time()))
        elif index % 10 == 0:
            await asyncio.sleep(0)
    stream.end_input()
    await reader
    await stream.aclose()
    return segments


async def cost(
    model: vad.VAD | stt.STT, audio: np.ndarray, *, streams: int, paced: bool
) -> tuple[float, int]:
    """CPU ms per audio second per stream, and the segments the first stream found."""
    start = time.process_time()
    found = await asyncio.gather(*(play(model, audio, paced=paced) for _ in range(streams)))
    used = time.process_time() - start
    return used * 1000 / (streams * audio.size / PHONE_RATE), found[0]


class LateCount(logging.Handler):
    """Counts the VADs' "inference is slower than realtime" warnings (> 200 ms late)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.late = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.late += "slower than realtime" in record.getMessage()


def construction_ms(make: Callable[[], vad.VAD | stt.STT], times: int = 20) -> float:
    """CPU ms to build one VAD object: what building one per call costs."""
    make()
    start = time.process_time()
    for _ in range(times):
        make()
    return (time.process_time() - start) * 1000 / times


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def first_load_mb(name: str) -> float:
    """Resident memory the first VAD of `name` adds to a fresh process that has imported
    livekit-agents and the silero plugin, as dialtone's worker preloads them: what a job
    process paid for its VAD in its prewarm. Measured in a child process."""
    child = subprocess.run(
        [sys.executable, __file__, "--first-load", name],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(child.stdout.split()[-1])


async def main(seconds: float, streams: int, repeats: int, paced: bool) -> None:
    audio = await phone_audio(seconds)
    built = {name: construction_ms(make) for name, make in VARIANTS.items()}
    loaded = {name: first_load_mb(name) for name in VARIANTS}
    models = {name: make() for name, make in VARIANTS.items()}
    for model in models.values():  # warm-up: first inference allocates
        await cost(model, audio[: PHONE_RATE * 2], streams=1, paced=False)
    results: dict[str, list[float]] = {name: [] for name in models}
    segments: dict[str, int] = {}
    late = dict.fromkeys(models, 0)
    counter = LateCount()
    logging.getLogger().addHandler(counter)
    logging.getLogger().setLevel(logging.ERROR)  # counted, not printed
    for name in ("livekit.agents", "livekit.plugins.silero"):
        logging.getLogger(name).setLevel(logging.WARNING)
    names = list(models)
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            counter.late = 0
            ms, found = await cost(models[name], audio, streams=streams, paced=paced)
            results[name].append(ms)
            segments[name] = found
            late[name] += counter.late
    base = statistics.median(results["silero_plugin"])
    mode = f"paced, {streams} concurrent streams" if paced else f"unpaced, {streams} stream(s)"
    print(f"{seconds:g} s of 8 kHz phone audio per stream, {mode}, {repeats} repeats")
    print(
        f"{'variant':<19}{'median ms/s':>12}{'min':>8}{'max':>8}{'ratio':>8}{'segments':>10}"
        f"{'build ms':>10}{'late':>6}{'first MB':>10}"
    )
    for name, values in results.items():
        median = statistics.median(values)
        print(
            f"{name:<19}{median:>12.2f}{min(values):>8.2f}{max(values):>8.2f}"
            f"{median / base:>8.2f}{segments[name]:>10}{built[name]:>10.3f}{late[name]:>6}"
            f"{loaded[name]:>10.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--unpaced", action="store_true")
    parser.add_argument("--first-load", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_load:
        import livekit.plugins.silero  # noqa: F401  (the worker preloads it, as here)

        before = rss_mb()
        VARIANTS[args.first_load]()
        print(f"{rss_mb() - before:.2f}")
        raise SystemExit(0)
    asyncio.run(main(args.seconds, args.streams, args.repeats, not args.unpaced))
