"""Hold audio: a real-time paced, never-silent loop."""

from __future__ import annotations

import numpy as np
import pytest

from dialtone.telephony import hold


async def test_hold_music_never_runs_ahead_of_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake clock that only moves when the generator sleeps: without pacing the
    # generator would hand out 10 s of audio at clock 0 (and fill memory in a sink that
    # does not push back, like the simulator's).
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(hold.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(hold.asyncio, "sleep", sleep)
    frames = 0
    async for frame in hold.hold_music():
        frames += 1
        audio_s = frames * hold.FRAME_MS / 1000
        assert audio_s - now[0] <= hold.LEAD_S + hold.FRAME_MS / 1000 + 1e-9
        assert frame.samples_per_channel == hold.SAMPLE_RATE * hold.FRAME_MS // 1000
        if frames == 500:
            break
    assert now[0] >= 10.0 - hold.LEAD_S - 0.05


def test_hold_melody_has_no_silent_stretch() -> None:
    loop = hold.melody_samples().astype(np.float64)
    frame = hold.SAMPLE_RATE * hold.FRAME_MS // 1000
    # Wrap around: the loop repeats, so its seam counts too.
    wrapped = np.concatenate([loop, loop[: frame * 50]])
    rms = [np.sqrt(np.mean(wrapped[i : i + frame] ** 2)) for i in range(0, len(loop), frame)]
    quiet = [r < 100 for r in rms]  # below ~-50 dBFS
    longest = max(
        (len(run) for run in "".join("q" if q else "." for q in quiet).split(".")), default=0
    )
    assert longest * hold.FRAME_MS / 1000 < 1.0
