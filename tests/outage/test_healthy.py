"""A cloud call whose providers are up never starts the offline recogniser.

The offline recogniser is the last link of every cloud call's STT chain; its pocketsphinx
worker is a process of its own (about 1.5 s to start, and its memory). Started with the
call, it would cost a process per call while Deepgram answers every turn: it must start
only when the chain falls back to it (tests/outage/test_failover.py covers that side).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from dialtone.offline import stt as offline_stt
from dialtone.simulate.scenario import load_scenario

from .conftest import SCENARIO, cloud_settings, play
from .servers import closed_port_url, healthy_deepgram_app, serve

pytestmark = pytest.mark.audio


class CountedPool(ProcessPoolExecutor):
    """The offline recogniser's worker pool, counted as it is made."""

    started = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        CountedPool.started += 1
        super().__init__(*args, **kwargs)


def test_a_call_deepgram_answers_starts_no_offline_recogniser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    CountedPool.started = 0
    monkeypatch.setattr(offline_stt, "ProcessPoolExecutor", CountedPool)
    heard = ["what are your hours", "no thank you goodbye"]

    async def call() -> Any:
        async with serve(healthy_deepgram_app(heard)) as deepgram_url:
            # OpenAI down: the answers come from the local dialogue, which needs the words.
            settings = cloud_settings(openai_url=closed_port_url(), deepgram_url=deepgram_url)
            return await play(load_scenario(SCENARIO), settings)

    played = asyncio.run(call())
    report = played.report
    assert report.passed, report.to_text()
    assert [line.text for line in report.transcript if line.speaker == "heard"] == heard
    assert "stt deepgram" not in (played.record.detail or "")
    assert CountedPool.started == 0
