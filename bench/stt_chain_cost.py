"""What the cloud profile's recogniser fallback chain costs per frame, against no chain.

A call's frames (16 kHz, 50 ms) are pushed, one per event-loop turn as a room hands
them over, into a streaming recogniser that reads every frame (as Deepgram's plugin
does) in three ways, each in the same run and on the same loop:

- `leaf`: the recogniser alone, no fallback (no configuration to run: a Deepgram outage
  would be dead air), the baseline;
- `livekit`: livekit-agents' `stt.FallbackAdapter` over it and the offline link, as the
  cloud profile built it before: each frame is queued for a task of the adapter's own,
  which pushes it on;
- `dialtone`: `dialtone.stt_failover.DirectFallbackSTT`, the cloud profile's chain:
  each frame is pushed into the listening link's stream at once.

Run: .venv/bin/python bench/stt_chain_cost.py [--frames 20000] [--reps 3]
Prints CPU microseconds per frame, each against the leaf's, and per second of call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from livekit import rtc
from livekit.agents import APIConnectOptions, stt
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialtone.offline.stt import PocketSphinxSTT
from dialtone.pipeline import load_vad
from dialtone.stt_failover import DirectFallbackSTT

FRAMES_PER_SECOND = 20  # 50 ms frames


class Reader(stt.STT):
    """A streaming recogniser that reads every frame and says nothing."""

    def __init__(self) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        raise NotImplementedError

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        return _Reading(stt=self, conn_options=conn_options)


class _Reading(stt.RecognizeStream):
    async def _run(self) -> None:
        async for _ in self._input_ch:
            pass


async def per_frame_us(make: Callable[[], stt.STT], frames: int) -> float:
    recogniser = make()
    stream = recogniser.stream()
    frame = rtc.AudioFrame.create(16000, 1, 800)

    async def drain() -> None:
        async for _ in stream:
            pass

    draining = asyncio.create_task(drain())
    started = time.process_time()
    for _ in range(frames):
        stream.push_frame(frame)
        await asyncio.sleep(0)  # the next frame comes on a later turn of the loop
    spent = time.process_time() - started
    stream.end_input()
    await draining
    await stream.aclose()
    await recogniser.aclose()
    return 1e6 * spent / frames


async def main(frames: int, reps: int) -> None:
    vad = load_vad()
    kinds: dict[str, Callable[[], stt.STT]] = {
        "leaf": Reader,
        "livekit": lambda: stt.FallbackAdapter(
            [Reader(), PocketSphinxSTT(phrases=[])], vad=vad, max_retry_per_stt=0
        ),
        "dialtone": lambda: DirectFallbackSTT(
            [Reader(), PocketSphinxSTT(phrases=[])], vad=vad, max_retry_per_stt=0
        ),
    }
    runs: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(reps):  # the kinds alternate, so outside load falls on all alike
        for name, make in kinds.items():
            runs[name].append(await per_frame_us(make, frames))
    leaf = statistics.median(runs["leaf"])
    print(f"`bench/stt_chain_cost.py --frames {frames} --reps {reps}`\n")
    print("| chain | CPU µs per frame (range) | over the leaf | chain's own µs per call-second |")
    print("|---|---:|---:|---:|")
    for name, values in runs.items():
        median = statistics.median(values)
        own = (median - leaf) * FRAMES_PER_SECOND
        print(
            f"| {name} | {median:.1f} ({min(values):.1f}–{max(values):.1f}) | "
            f"{median / leaf:.2f} | {own:.0f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    if args.frames < 1 or args.reps < 1:
        parser.error("--frames and --reps must be 1 or more")
    asyncio.run(main(args.frames, args.reps))
