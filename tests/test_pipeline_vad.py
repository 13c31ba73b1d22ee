"""The call's VAD on phone audio: tuned for phone turns, and one call's VAD never hears
or reports another's. Real native Silero on synthesized 8 kHz G.711 speech, pushed as
fast as the stream takes it (no session, no real-time pacing)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import inference, vad
from livekit.agents.metrics import VADMetrics

from dialtone.offline.espeak import synthesize
from dialtone.pipeline import VAD_MIN_SILENCE, load_vad
from dialtone.simulate.phone_audio import PHONE_RATE, to_phone_line, trim_silence

FRAME = PHONE_RATE // 50  # 20 ms


async def phone(text: str) -> np.ndarray:
    return to_phone_line(trim_silence(await synthesize(text)), 16000)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * PHONE_RATE), dtype=np.int16)


@pytest.fixture(scope="module")
def split_sentence() -> np.ndarray:
    """ "Yes, ... I can make it on Tuesday": the split_sentence scenario's 0.45 s pause."""

    async def make() -> np.ndarray:
        parts = [silence(0.3), await phone("yes"), silence(0.45)]
        return np.concatenate([*parts, await phone("i can make it on tuesday"), silence(1.2)])

    return asyncio.run(make())


async def segments(stream: vad.VADStream, audio: np.ndarray) -> list[vad.VADEventType]:
    """Push `audio` in 20 ms frames; the start and end events the stream reports."""
    events: list[vad.VADEventType] = []

    async def read() -> None:
        async for event in stream:
            if event.type is not vad.VADEventType.INFERENCE_DONE:
                events.append(event.type)

    reader = asyncio.create_task(read())
    for offset in range(0, audio.size - audio.size % FRAME, FRAME):
        chunk = audio[offset : offset + FRAME]
        stream.push_frame(rtc.AudioFrame(chunk.tobytes(), PHONE_RATE, 1, FRAME))
        await asyncio.sleep(0)
    stream.end_input()
    await reader
    await stream.aclose()
    return events


async def test_a_pause_mid_sentence_does_not_end_the_speech(split_sentence: np.ndarray) -> None:
    speech = await segments(load_vad().stream(), split_sentence)
    assert speech == [vad.VADEventType.START_OF_SPEECH, vad.VADEventType.END_OF_SPEECH]


async def test_the_library_default_silence_would_split_it(split_sentence: np.ndarray) -> None:
    """What the tuning is for: the native VAD's own 0.25 s ends speech at the pause."""
    untuned = inference.VAD(model="silero")
    assert untuned.min_silence_duration != VAD_MIN_SILENCE
    ends = await segments(untuned.stream(), split_sentence)
    assert ends.count(vad.VADEventType.END_OF_SPEECH) == 2


async def test_streams_of_one_vad_keep_their_own_state(split_sentence: np.ndarray) -> None:
    """Two callers on one VAD: speech on one line is not heard on the other."""
    detector = load_vad()
    talking, quiet = await asyncio.gather(
        segments(detector.stream(), split_sentence),
        segments(detector.stream(), silence(split_sentence.size / PHONE_RATE)),
    )
    assert talking == [vad.VADEventType.START_OF_SPEECH, vad.VADEventType.END_OF_SPEECH]
    assert quiet == []


async def test_each_call_reports_only_its_own_vad_metrics(split_sentence: np.ndarray) -> None:
    """A VAD reports every stream's metrics to every session listening on it, so each
    call gets its own VAD from `load_vad` (the model itself is loaded once per process)."""
    first, second = load_vad(), load_vad()
    heard: dict[str, list[VADMetrics]] = {"first": [], "second": []}
    first.on("metrics_collected", heard["first"].append)
    second.on("metrics_collected", heard["second"].append)
    await segments(second.stream(), split_sentence)
    assert heard["second"] and not heard["first"]


async def test_inference_on_the_calling_thread_hears_the_same_turns(
    split_sentence: np.ndarray,
) -> None:
    """A job process runs one call: its VAD can infer on the event loop, no thread hand-off."""
    from dialtone.pipeline import InlineExecutor

    speech = await segments(load_vad(executor=InlineExecutor()).stream(), split_sentence)
    assert speech == [vad.VADEventType.START_OF_SPEECH, vad.VADEventType.END_OF_SPEECH]


async def test_a_call_s_vad_infers_on_the_event_loop_thread(split_sentence: np.ndarray) -> None:
    """No thread hand-off per 32 ms window: a window takes ~20 us, the hand-off more."""
    import threading

    stream = load_vad().stream()
    native = stream._native_vad  # type: ignore[attr-defined]
    threads: set[int] = set()

    class Watched:
        def predict(self, pcm: np.ndarray) -> float:
            threads.add(threading.get_ident())
            return float(native.predict(pcm))

        def reset(self) -> None:
            native.reset()

    stream._native_vad = Watched()  # type: ignore[attr-defined]
    await segments(stream, split_sentence[: PHONE_RATE // 2])
    assert threads == {threading.get_ident()}


def test_the_inline_executor_runs_on_the_caller_and_keeps_errors() -> None:
    import threading

    from dialtone.pipeline import InlineExecutor

    executor = InlineExecutor()
    assert executor.submit(threading.get_ident).result() == threading.get_ident()
    with pytest.raises(ZeroDivisionError):
        executor.submit(lambda: 1 / 0).result()
