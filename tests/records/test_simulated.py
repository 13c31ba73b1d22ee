"""Simulated phone calls (dialtone/simulate: real AgentSession and VAD on phone audio,
scripted words and model, a tone voice) leave one accurate call record each."""

from __future__ import annotations

from pathlib import Path

import pytest
from livekit.agents.llm import ChatContext
from prometheus_client import CollectorRegistry

from dialtone.config import Settings, load_settings
from dialtone.personas import Persona
from dialtone.pipeline import Pipeline, load_vad
from dialtone.records.metrics import CallMetrics
from dialtone.records.models import CallOutcome, HangupBy, RecordStatus
from dialtone.records.recorder import CallRecorder
from dialtone.records.store import CallFilter, CallStart, RecordStore
from dialtone.simulate.call_io import CallerLine
from dialtone.simulate.report import CallReport
from dialtone.simulate.runner import simulate_call
from dialtone.simulate.scenario import load_scenario
from tests.fakes import Reply, ScriptedLLM, ScriptedSTT, ToneTTS, last_item_type, last_user_text

pytestmark = pytest.mark.audio

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def respond(chat_ctx: ChatContext) -> Reply:
    text = last_user_text(chat_ctx)
    if last_item_type(chat_ctx) == "function_call_output":
        return Reply("Sorry, nobody can take your call. Can I take a message?")
    if "bye" in text:
        return Reply("Goodbye!", tool_calls=[("end_call", {})])
    if "person" in text:
        return Reply(
            "Please hold while I connect you.",
            tool_calls=[("transfer_to_human", {"reason": "a question"})],
        )
    return Reply("Okay.")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # a scratch data dir: nothing a call writes lands in the checkout's data/
    return load_settings(
        persona_dir=SCENARIOS.parents[1] / "personas", data_dir=tmp_path_factory.mktemp("data")
    )


async def run(
    name: str, settings: Settings, store: RecordStore, metrics: CallMetrics
) -> tuple[CallReport, CallRecorder]:
    vad = load_vad()
    made: list[CallRecorder] = []

    def factory(_persona: Persona, line: CallerLine) -> Pipeline:
        return Pipeline(vad=vad, stt=ScriptedSTT(line), llm=ScriptedLLM(respond), tts=ToneTTS())

    def record(start: CallStart) -> CallRecorder:
        made.append(CallRecorder(store, start, metrics=metrics))
        return made[-1]

    report = await simulate_call(
        load_scenario(SCENARIOS / f"{name}.yaml"),
        settings=settings,
        pipeline_factory=factory,
        record=record,
    )
    return report, made[0]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_an_answered_call_the_agent_ends(
    settings: Settings, store: RecordStore, metrics: CallMetrics, registry: CollectorRegistry
) -> None:
    report, recorder = await run("end_call", settings, store, metrics)
    assert report.passed, report.failures
    (record,) = store.list(CallFilter())[0]
    full = store.get(record.id)
    assert full is not None and full.id == recorder.record_id
    assert full.status is RecordStatus.ENDED and full.outcome is CallOutcome.COMPLETED
    assert full.hangup_by is HangupBy.AGENT and full.disconnect_reason == "agent ended the call"
    assert full.sip_call_id.startswith("SCL_sim_end_call_") and full.persona == "receptionist"
    assert full.tools == ["end_call"] and not full.dropped
    assert full.transcript is not None
    assert [line.text for line in full.transcript if line.speaker == "agent"][-1] == "Goodbye!"
    # Per-turn latency from the framework's own figures; the greeting has no caller turn.
    lat = full.latency
    assert lat.turns == 2 and lat.response_median_ms is not None
    assert 0 < lat.response_median_ms < 5000
    assert lat.tts_ttfb_median_ms is not None and lat.llm_ttft_median_ms is not None
    (heard,) = [t.latency_ms for t in report.turns]
    assert heard is not None and abs(lat.response_p95_ms - heard) < 500  # type: ignore[operator]
    assert (
        registry.get_sample_value("dialtone_turn_response_seconds_count", {"direction": "inbound"})
        == 1
    )


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_transferred_call(
    settings: Settings, store: RecordStore, metrics: CallMetrics, registry: CollectorRegistry
) -> None:
    report, _ = await run("transfer_hold", settings, store, metrics)
    assert report.passed, report.failures
    (record,) = store.list(CallFilter())[0]
    assert record.outcome is CallOutcome.TRANSFERRED and record.transfer_outcome == "completed"
    assert record.tools == ["transfer_to_human"] and not record.dropped
    assert (
        registry.get_sample_value(
            "dialtone_transfers_total", {"kind": "warm", "outcome": "completed"}
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            "dialtone_calls_total", {"direction": "inbound", "outcome": "transferred"}
        )
        == 1
    )


async def test_dialtone_simulate_leaves_its_record_where_every_call_goes(
    settings: Settings, tmp_path: Path
) -> None:
    """The settings' database (here `DIALTONE_DATA_DIR`), not the `out_dir`."""
    from dialtone.db.engine import new_engine, sqlite_url

    data = tmp_path / "data"
    out = tmp_path / "out"

    vad = load_vad()

    def factory(_persona: Persona, line: CallerLine) -> Pipeline:
        return Pipeline(vad=vad, stt=ScriptedSTT(line), llm=ScriptedLLM(respond), tts=ToneTTS())

    report = await simulate_call(
        load_scenario(SCENARIOS / "end_call.yaml"),
        settings=settings.model_copy(update={"data_dir": data}),
        out_dir=out,
        pipeline_factory=factory,
    )
    assert report.passed, report.failures
    assert not (out / "dialtone.db").exists()
    (record,) = RecordStore(new_engine(sqlite_url(data))).list(CallFilter())[0]
    assert record.outcome is CallOutcome.COMPLETED and record.trunk == "simulated"
