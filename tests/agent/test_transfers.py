"""The receptionist's transfer tools, called by a scripted LLM, against the LiveKit double.

Real AgentSession, real TransferDesk, real `livekit.api.LiveKitAPI` client; only the
model's choices and the far ends (scripted on the double) are fixed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from livekit.agents import AgentSession
from livekit.agents.llm import ChatContext
from livekit.protocol.sip import CreateSIPOutboundTrunkRequest, SIPOutboundTrunkInfo

from agents.personas import Persona, PersonaBook, TransferTarget
from agents.receptionist import (
    CallContext,
    Receptionist,
    TransferReceptionist,
    Transfers,
    make_receptionist,
)
from agents.store.db import make_engine, sqlite_url
from agents.store.messages import MessageStore
from agents.telephony.caller import CallerInfo
from agents.telephony.outcomes import TransferOutcome
from agents.telephony.transfer import LiveKitApiCalls, TransferDesk
from tests.fakes import Reply, ScriptedLLM, last_item_type, last_user_text
from tests.livekit_double import LiveKitDouble

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
ROOM = "room-1"
DESK_NUMBER = "+15550100111"
OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 New York
CLOSED = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Sunday evening


class Control:
    def __init__(self) -> None:
        self.hang_ups: list[str] = []
        self.left: list[str] = []

    async def hang_up(self, reason: str) -> None:
        self.hang_ups.append(reason)

    async def leave(self, reason: str) -> None:
        self.left.append(reason)


def respond(chat_ctx: ChatContext) -> Reply:
    if last_item_type(chat_ctx) == "function_call_output":
        return Reply("Sorry, nobody could take the call. Shall I take a message?")
    text = last_user_text(chat_ctx)
    if "billing" in text:
        return Reply("One moment.", tool_calls=[("transfer_call", {"target": "billing"})])
    if "person" in text:
        return Reply(
            "Please hold while I connect you.",
            tool_calls=[("transfer_to_human", {"target": "front desk", "reason": "a refill"})],
        )
    return Reply("We are open nine to five.")


def persona(extra: list[TransferTarget] | None = None) -> Persona:
    base = PersonaBook.load(PERSONAS, "receptionist").pick()
    return base.model_copy(update={"transfer_targets": base.transfer_targets + (extra or [])})


BILLING = TransferTarget(
    name="billing", phone="+15550100222", outbound_trunk="carrier-outbound", kind="cold"
)


@pytest.fixture
async def setup(
    livekit_double: LiveKitDouble, tmp_path: Path
) -> AsyncIterator[tuple[CallContext, Control, TransferDesk]]:
    livekit_double.add_participant(ROOM, "caller", kind="sip", attributes={"sip.callID": "SCL_1"})
    async with livekit_double.client() as lk:
        await lk.sip.create_outbound_trunk(
            CreateSIPOutboundTrunkRequest(
                trunk=SIPOutboundTrunkInfo(
                    name="carrier-outbound", address="sip.carrier.example", numbers=["+15550100"]
                )
            )
        )
        control = Control()
        desk = TransferDesk(
            LiveKitApiCalls(lk), room=ROOM, caller_identity="caller", clock=lambda: OPEN
        )
        call = CallContext(
            persona=persona([BILLING]),
            caller=CallerInfo(phone_number="+15551230000", call_id="SCL_1"),
            room=ROOM,
            messages=MessageStore(make_engine(sqlite_url(tmp_path))),
            control=control,
            transfers=Transfers(desk=desk, control=control),
        )
        yield call, control, desk


async def test_tools_only_with_targets_and_a_desk(
    setup: tuple[CallContext, Control, TransferDesk],
) -> None:
    call, _, _ = setup
    assert isinstance(make_receptionist(call), TransferReceptionist)
    no_desk = CallContext(call.persona, call.caller, call.room, call.messages, call.control)
    plain = make_receptionist(no_desk)
    assert type(plain) is Receptionist
    tools = {t.id for t in plain.tools}  # type: ignore[union-attr]
    assert "transfer_to_human" not in tools and "take_message" in tools


async def test_caller_asks_for_a_person_and_is_connected(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, _ = setup
    agent = make_receptionist(call)
    assert isinstance(agent, TransferReceptionist)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Can I talk to a person?")
        result.expect.contains_function_call(name="transfer_to_human")
        assert agent._leaving is not None
        await agent._leaving
    [dial] = livekit_double.sip.dials
    assert dial.request.sip_call_to == DESK_NUMBER and dial.request.room_name == ROOM
    assert [r.outcome for r in agent.results] == [TransferOutcome.COMPLETED]
    assert control.left == ["handed the caller to a human"] and control.hang_ups == []


@pytest.mark.parametrize(
    ("code", "words"), [(486, "on another call"), (603, "could not take"), (480, "did not answer")]
)
async def test_failed_transfer_takes_the_caller_back(
    livekit_double: LiveKitDouble,
    setup: tuple[CallContext, Control, TransferDesk],
    code: int,
    words: str,
) -> None:
    call, control, _ = setup
    livekit_double.sip.script_call(DESK_NUMBER, sip_status_code=code, sip_status="x")
    agent = make_receptionist(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Can I talk to a person?")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call(name="transfer_to_human")
        output = result.expect.next_event().is_function_call_output().event().item.output
        assert words in output and "take_message" in output
        result.expect.next_event().is_message(role="assistant")
    assert control.left == [] and control.hang_ups == []


async def test_after_hours_offers_a_message_and_a_callback_time(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, desk = setup
    desk.clock = lambda: CLOSED
    agent = make_receptionist(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Can I talk to a person?")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call(name="transfer_to_human")
        output = result.expect.next_event().is_function_call_output().event().item.output
        assert "call back tomorrow after 8 AM" in output and "take_message" in output
    assert livekit_double.sip.dials == [] and control.left == []


async def test_cold_transfer_call_with_refer_refused_bridges(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, _ = setup
    livekit_double.sip.script_transfer("tel:+15550100222", sip_status_code=603, sip_status="No")
    agent = make_receptionist(call)
    assert isinstance(agent, TransferReceptionist)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Put me through to billing")
        result.expect.contains_function_call(name="transfer_call")
        assert agent._leaving is not None
        await agent._leaving
    assert [t.request.transfer_to for t in livekit_double.sip.transfers] == ["tel:+15550100222"]
    assert [d.request.sip_call_to for d in livekit_double.sip.dials] == ["+15550100222"]
    assert agent.results[0].mechanism == "refer-refused→bridge"
    assert control.left == ["handed the caller to a human"]


async def test_caller_presses_zero_for_a_person(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, _ = setup
    agent = make_receptionist(call)
    assert isinstance(agent, TransferReceptionist)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        agent.on_caller_key("0")
        task = agent._key_task
        assert task is not None
        await task
        if agent._leaving is not None:
            await agent._leaving
    assert [d.request.sip_call_to for d in livekit_double.sip.dials] == [DESK_NUMBER]
    assert control.left == ["handed the caller to a human"]


async def test_unknown_key_does_nothing(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, _, _ = setup
    agent = make_receptionist(call)
    assert isinstance(agent, TransferReceptionist)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        agent.on_caller_key("7")
        assert agent._key_task is None
    assert livekit_double.sip.dials == []
