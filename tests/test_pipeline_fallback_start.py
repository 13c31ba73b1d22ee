"""The cloud profile's offline recogniser starts its worker process only when used.

Each cloud call carries the offline recogniser as its last STT link; its pocketsphinx
worker is a process of its own (about 1.5 s to start, and its memory), so starting it
when the call starts would cost a process per call while Deepgram is healthy.
"""

from __future__ import annotations

from pathlib import Path

from livekit.agents import stt

from dialtone.config import load_settings
from dialtone.offline.stt import PocketSphinxSTT
from dialtone.personas import PersonaBook
from dialtone.pipeline import build_pipeline, load_vad

ROOT = Path(__file__).resolve().parents[1]


async def test_starting_a_cloud_call_starts_no_offline_recogniser() -> None:
    persona = PersonaBook.load(ROOT / "personas", "receptionist").pick()
    settings = load_settings(openai_api_key="sk-test", deepgram_api_key="dg-test")
    pipeline = build_pipeline(settings, persona, load_vad())
    try:
        assert isinstance(pipeline.stt, stt.FallbackAdapter)
        pipeline.stt.prewarm()  # what AgentSession does as the call starts
        adapter = pipeline.stt._stt_instances[-1]
        assert isinstance(adapter, stt.StreamAdapter)
        local = adapter._stt
        assert isinstance(local, PocketSphinxSTT)
        assert local._pool is None
        # The link itself can still start it: its first recognition after a fallback does.
        adapter.prewarm()
        assert local._pool is not None
    finally:
        await pipeline.aclose()
