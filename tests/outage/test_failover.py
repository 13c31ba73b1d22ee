"""No dead air: every provider failing every way a network fails, and failing mid-call.

The real AgentSession, VAD and agent answer a simulated call on the cloud profile whose
providers are local stand-ins (`servers.py`). Each turn must be answered within
`SLACK_MS` of the same turn on the offline profile (the fallback's own links, measured
in the same run): the attempt timeout (`DIALTONE_PROVIDER_TIMEOUT`, 1 s) plus the
simulator's jitter. Before the fix these calls failed: the Deepgram link crashed outside
a job's HTTP context and a silent TTS held the caller for 30 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from dialtone.metrics import REGISTRY
from dialtone.simulate.report import CallReport
from dialtone.simulate.scenario import load_scenario

from .conftest import SCENARIO, Played, cloud_settings, play
from .servers import (
    UNRESOLVABLE,
    Budget,
    Handler,
    chat_handler,
    closed_port_url,
    deepgram_app,
    openai_app,
    serve,
    silent_server,
    speech_handler,
    status_app,
)

# Every call's turns are held against the baseline call's: with other calls playing
# beside them (parallel workers) the comparison measures the neighbours, not the fallback.
pytestmark = [pytest.mark.audio, pytest.mark.serial]

SLACK_MS = 1500.0

Endpoint = Callable[[], AbstractAsyncContextManager[str]]


@asynccontextmanager
async def refused() -> AsyncIterator[str]:
    yield closed_port_url()


@asynccontextmanager
async def unresolvable() -> AsyncIterator[str]:
    yield UNRESOLVABLE


def status(code: int) -> Endpoint:
    return lambda: serve(status_app(code))


FAILURES: dict[str, Endpoint] = {
    "refused": refused,
    "dns": unresolvable,
    "silent": silent_server,
    "5xx": status(503),
    "429": status(429),
}


def fallbacks(provider: str, kind: str) -> float:
    value = REGISTRY.get_sample_value(
        "dialtone_provider_fallbacks_total", {"provider": provider, "kind": kind}
    )
    return value or 0.0


def greeting_at(report: CallReport) -> float:
    return next(line.at for line in report.transcript if line.speaker == "agent")


def assert_no_dead_air(played: Played, baseline: Played) -> None:
    report = played.report
    assert report.passed, report.to_text()
    assert len(report.turns) == len(baseline.report.turns)
    for turn, healthy in zip(report.turns, baseline.report.turns, strict=True):
        assert turn.latency_ms is not None, f"turn {turn.index} was never answered"
        assert healthy.latency_ms is not None
        assert turn.latency_ms <= healthy.latency_ms + SLACK_MS, report.to_text()
    greeting = next(line.at for line in report.transcript if line.speaker == "agent")
    healthy_greeting = next(
        line.at for line in baseline.report.transcript if line.speaker == "agent"
    )
    assert greeting <= healthy_greeting + SLACK_MS / 1000, report.to_text()
    assert played.record.detail is not None and "degraded turns" in played.record.detail


async def run_call(deepgram: Endpoint, openai: Endpoint) -> Played:
    async with deepgram() as deepgram_url, openai() as openai_url:
        settings = cloud_settings(openai_url=openai_url, deepgram_url=deepgram_url)
        return await play(load_scenario(SCENARIO), settings)


# Each failure once per provider: Deepgram (STT) and the OpenAI server (LLM and TTS share
# OPENAI_BASE_URL, so one failing host fails both). "refused" for both is the CLI test.
@pytest.mark.parametrize(
    ("deepgram", "openai"),
    [("silent", "refused"), ("refused", "silent"), ("5xx", "dns"), ("dns", "429"), ("429", "5xx")],
)
def test_provider_failure_answers_every_turn(deepgram: str, openai: str, baseline: Played) -> None:
    before = {
        k: fallbacks(p, k) for p, k in (("deepgram", "stt"), ("openai", "llm"), ("openai", "tts"))
    }
    played = asyncio.run(run_call(FAILURES[deepgram], FAILURES[openai]))
    assert_no_dead_air(played, baseline)
    assert fallbacks("deepgram", "stt") > before["stt"]
    assert fallbacks("openai", "llm") > before["llm"]
    assert fallbacks("openai", "tts") > before["tts"]
    assert "stt deepgram" in (played.record.detail or "")


def _openai(**handlers: Handler) -> Endpoint:
    return lambda: serve(openai_app(**handlers))


CLOUD_HOURS = "Our hours are Monday to Friday, nine to five, said the cloud."


def test_llm_failing_mid_call(baseline: Played) -> None:
    budget = Budget(healthy=1)
    before = fallbacks("openai", "llm")
    played = asyncio.run(run_call(refused, _openai(chat=chat_handler(budget, CLOUD_HOURS))))
    assert budget.served == 1  # the first answer came from the provider ...
    assert any(line.text == CLOUD_HOURS for line in played.report.transcript)
    assert_no_dead_air(played, baseline)  # ... and the goodbye from the fallback
    assert fallbacks("openai", "llm") == before + 1


def test_tts_failing_mid_call(baseline: Played) -> None:
    budget = Budget(healthy=2)  # the greeting and the first answer, then silence
    before = fallbacks("openai", "tts")
    played = asyncio.run(run_call(refused, _openai(speech=speech_handler(budget))))
    assert budget.served == 2
    assert_no_dead_air(played, baseline)
    assert fallbacks("openai", "tts") == before + 1


def test_stt_failing_mid_call(baseline: Played) -> None:
    heard = "what are your hours please"
    budget = Budget(healthy=1)
    before = fallbacks("deepgram", "stt")
    played = asyncio.run(run_call(lambda: serve(deepgram_app(budget, [heard])), refused))
    assert budget.served == 1
    assert any(line.speaker == "heard" and line.text == heard for line in played.report.transcript)
    assert_no_dead_air(played, baseline)
    assert fallbacks("deepgram", "stt") == before + 1
