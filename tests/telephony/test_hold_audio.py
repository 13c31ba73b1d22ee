"""A simulated call in which the caller asks for a person and hears hold audio.

Real AgentSession and VAD on phone audio, the real TransferDesk against the LiveKit
double (the human's phone rings for a few seconds, then answers or is busy); scripted
words, model and tone voice. The same scenario files also run through `dialtone
simulate` on the offline stack with a simulated far end (tests/simulate). The agent
channel must never fall silent for more than a second between the agent's first answer
and its last sound.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from livekit.agents.llm import ChatContext
from livekit.protocol.sip import CreateSIPOutboundTrunkRequest, SIPOutboundTrunkInfo

from dialtone.config import Settings, load_settings
from dialtone.personas import Persona
from dialtone.pipeline import Pipeline, load_vad
from dialtone.simulate.call_io import CallerLine
from dialtone.simulate.report import CallReport
from dialtone.simulate.runner import simulate_call
from dialtone.simulate.scenario import load_scenario
from dialtone.telephony.transfer import LiveKitApiCalls, TransferDesk
from tests.fakes import Reply, ScriptedLLM, ScriptedSTT, ToneTTS, last_item_type, last_user_text
from tests.livekit_double import LiveKitDouble

pytestmark = pytest.mark.audio

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DESK = "+15550100111"  # personas/receptionist.yaml, target "front desk"
OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
RING_S = 4.0


def respond(chat_ctx: ChatContext) -> Reply:
    if last_item_type(chat_ctx) == "function_call_output":
        # Speak the sentence the tool gave, as the offline dialogue does.
        quoted = re.search(r'"([^"]+)"', getattr(chat_ctx.items[-1], "output", ""))
        return Reply(quoted.group(1) if quoted else "")
    if "person" in last_user_text(chat_ctx):
        return Reply(
            "Please hold while I connect you.",
            tool_calls=[("transfer_to_human", {"reason": "a question"})],
        )
    return Reply("Okay.")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Simulated calls write their records where every call's go: a scratch data dir.
    return load_settings(
        persona_dir=SCENARIOS.parents[1] / "personas", data_dir=tmp_path_factory.mktemp("data")
    )


async def run(name: str, settings: Settings, tmp_path: Path, double: LiveKitDouble) -> CallReport:
    vad = load_vad()

    def factory(_persona: Persona, line: CallerLine) -> Pipeline:
        return Pipeline(vad=vad, stt=ScriptedSTT(line), llm=ScriptedLLM(respond), tts=ToneTTS())

    async with double.client() as lk:
        await lk.sip.create_outbound_trunk(
            CreateSIPOutboundTrunkRequest(
                trunk=SIPOutboundTrunkInfo(
                    name="carrier-outbound", address="sip.carrier.example", numbers=["+15550100"]
                )
            )
        )
        room = f"sim-{name}"
        double.add_participant(room, "caller", kind="sip", attributes={"sip.callID": "SCL_s"})
        desk = TransferDesk(
            LiveKitApiCalls(lk), room=room, caller_identity="caller", clock=lambda: OPEN
        )
        return await simulate_call(
            load_scenario(SCENARIOS / f"{name}.yaml"),
            settings=settings,
            out_dir=tmp_path,
            pipeline_factory=factory,
            transfer_desk=desk,
        )


async def test_caller_hears_hold_until_the_human_answers(
    settings: Settings, tmp_path: Path, livekit_double: LiveKitDouble
) -> None:
    livekit_double.sip.script_call(DESK, delay=RING_S)
    report = await run("transfer_hold", settings, tmp_path, livekit_double)
    assert report.passed, report.failures
    assert [d.outcome for d in livekit_double.sip.dials] == ["answered"]
    assert [t["outcome"] for t in report.transfers] == ["completed"]
    # The agent channel kept sounding through the ring time, not only around it.
    assert report.max_agent_gap_s is not None and report.max_agent_gap_s <= 1.0
    assert report.duration_s > RING_S


async def test_caller_hears_hold_then_is_taken_back_when_busy(
    settings: Settings, tmp_path: Path, livekit_double: LiveKitDouble
) -> None:
    livekit_double.sip.script_call(DESK, sip_status_code=486, sip_status="Busy", delay=RING_S)
    report = await run("transfer_busy_fallback", settings, tmp_path, livekit_double)
    assert report.passed, report.failures
    assert [d.sip_status_code for d in livekit_double.sip.dials] == [486]
    assert report.max_agent_gap_s is not None and report.max_agent_gap_s <= 1.0
    assert report.duration_s > RING_S


async def test_caller_talking_on_hold_starts_no_agent_turn(
    settings: Settings, tmp_path: Path, livekit_double: LiveKitDouble
) -> None:
    livekit_double.sip.script_call(DESK, delay=RING_S)
    report = await run("transfer_caller_talks_on_hold", settings, tmp_path, livekit_double)
    assert report.passed, report.failures
    assert report.caller_turns_heard == 1
    assert [t["outcome"] for t in report.transfers] == ["completed"]
