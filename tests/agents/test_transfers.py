"""The receptionist's transfer tools, called by a scripted LLM, against the LiveKit double.

Real AgentSession, real TransferDesk, real `livekit.api.LiveKitAPI` client; only the
model's choices and the far ends (scripted on the double) are fixed. The scripted model
speaks the quoted sentence of a failed transfer's tool answer, as the offline dialogue
does, so each test checks what the caller is told, not only what the tool returned.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from livekit.agents import AgentSession
from livekit.agents.llm import ChatContext
from livekit.protocol.sip import CreateSIPOutboundTrunkRequest, SIPOutboundTrunkInfo

from dialtone.call.control import Transfers
from dialtone.db.engine import make_engine, sqlite_url
from dialtone.inbound.call import CallContext
from dialtone.messages.store import MessageStore
from dialtone.personas import Persona, PersonaBook, TransferTarget
from dialtone.telephony.caller import CallerInfo
from dialtone.telephony.outcomes import TransferOutcome
from dialtone.telephony.transfer import LiveKitApiCalls, TransferDesk
from tests.fakes import Reply, ScriptedLLM, last_item_type, last_user_text
from tests.livekit_double import LiveKitDouble
from tests.programs import receptionist

Receptionist = receptionist.Receptionist
TransferReceptionist = receptionist.TransferReceptionist
make_receptionist = receptionist.make_agent

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
ROOM = "room-1"
DESK_NUMBER = "+15550100111"
BILLING_NUMBER = "+15550100222"
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
    last = chat_ctx.items[-1] if chat_ctx.items else None
    if last_item_type(chat_ctx) == "function_call_output":
        output = getattr(last, "output", "")
        quoted = re.search(r'"([^"]+)"', output)
        return Reply(quoted.group(1) if quoted else "Done.")
    text = last_user_text(chat_ctx)
    if "billing" in text:
        return Reply("One moment.", tool_calls=[("transfer_call", {"target": "billing"})])
    if "extension" in text:
        return Reply(
            "Please hold.",
            tool_calls=[("transfer_to_human", {"target": "front desk", "extension": "204"})],
        )
    if "dentist" in text:
        return Reply("Let me see.", tool_calls=[("transfer_to_human", {"target": "dentist"})])
    if "person" in text:
        return Reply(
            "Please hold while I connect you.",
            tool_calls=[("transfer_to_human", {"target": "front desk", "reason": "a refill"})],
        )
    if "message" in text:
        return Reply(tool_calls=[("take_message", {"message": text})])
    return Reply("We are open nine to five.")


def persona(extra: list[TransferTarget] | None = None) -> Persona:
    base = PersonaBook.load(PERSONAS, "receptionist").pick()
    return base.model_copy(update={"transfer_targets": base.transfer_targets + (extra or [])})


BILLING = TransferTarget(
    name="billing",
    phone=BILLING_NUMBER,
    outbound_trunk="carrier-outbound",
    kind="cold",
    extension="3",
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


def transferring(call: CallContext) -> TransferReceptionist:
    agent = make_receptionist(call)
    assert isinstance(agent, TransferReceptionist)
    return agent


async def test_tools_only_with_targets_and_a_desk(
    setup: tuple[CallContext, Control, TransferDesk],
) -> None:
    call, _, _ = setup
    tools = {t.id for t in transferring(call).tools}  # type: ignore[union-attr]
    assert {"transfer_to_human", "transfer_call", "take_message"} <= tools
    no_desk = CallContext(call.persona, call.caller, call.room, call.messages, call.control)
    plain = make_receptionist(no_desk)
    assert type(plain) is Receptionist
    tools = {t.id for t in plain.tools}  # type: ignore[union-attr]
    assert "transfer_to_human" not in tools and "take_message" in tools


async def test_caller_asks_for_a_person_and_is_connected(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, _ = setup
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Can I talk to a person?")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call(name="transfer_to_human")
        assert result.expect.next_event().is_function_call_output().event().item.output == ""
        result.expect.no_more_events()  # the human has the caller: the agent says no more
        assert agent._leaving is not None
        await agent._leaving
        agent.on_caller_key("0")  # the caller is with the human now: keys do nothing
        assert agent._key_task is None
    [dial] = livekit_double.sip.dials
    assert dial.request.sip_call_to == DESK_NUMBER and dial.request.room_name == ROOM
    assert dial.request.dtmf == ""
    assert [r.outcome for r in agent.results] == [TransferOutcome.COMPLETED]
    assert control.left == ["handed the caller to a human"] and control.hang_ups == []
    assert livekit_double.sip.transfers == []


@pytest.mark.parametrize(
    ("code", "words", "outcome"),
    [
        (486, "is on another call", TransferOutcome.BUSY),
        (603, "could not take the call", TransferOutcome.DECLINED),
        (480, "did not answer", TransferOutcome.NO_ANSWER),
        (503, "phone line problem", TransferOutcome.TRUNK_FAILURE),
    ],
)
async def test_failed_transfer_takes_the_caller_back(
    livekit_double: LiveKitDouble,
    setup: tuple[CallContext, Control, TransferDesk],
    code: int,
    words: str,
    outcome: TransferOutcome,
) -> None:
    call, control, _ = setup
    livekit_double.sip.script_call(DESK_NUMBER, sip_status_code=code, sip_status="x")
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Can I talk to a person?")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call(name="transfer_to_human")
        result.expect.next_event().is_function_call_output()
        told = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert words in (told or "") and "leave a message" in (told or "")
    assert [(r.outcome, r.sip_status_code) for r in agent.results] == [(outcome, code)]
    assert control.left == [] and control.hang_ups == []


async def test_voicemail_on_the_human_leg_takes_the_caller_back(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, desk = setup

    async def machine(identity: str) -> str:
        return "Please leave a message after the beep."

    desk.first_words = machine
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Can I talk to a person?")
        told = result.expect[-1].is_message(role="assistant").event().item.text_content
        assert "did not pick up" in (told or "")
    assert [r.outcome for r in agent.results] == [TransferOutcome.VOICEMAIL]
    assert [c.method for c in livekit_double.calls_to("RemoveParticipant")] == ["RemoveParticipant"]
    assert control.left == []


async def test_after_hours_takes_a_message_and_says_when_someone_calls_back(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, desk = setup
    desk.clock = lambda: CLOSED
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Can I talk to a person?")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call(name="transfer_to_human")
        result.expect.next_event().is_function_call_output()
        told = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert "call you back tomorrow after 8 AM" in (told or "")
        result = await session.run(user_input="Yes, take a message: please call Jane back.")
        result.expect.contains_function_call(name="take_message")
    [message] = call.messages.list()
    assert "call jane back" in message.message and message.call_id == "SCL_1"
    assert livekit_double.calls == [] or all(
        c.method == "CreateSIPOutboundTrunk" for c in livekit_double.calls
    )
    assert livekit_double.sip.dials == [] and control.left == []
    assert [r.outcome for r in agent.results] == [TransferOutcome.AFTER_HOURS]


async def test_cold_transfer_call_with_refer_refused_bridges(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, _ = setup
    livekit_double.sip.script_transfer(f"tel:{BILLING_NUMBER}", sip_status_code=603)
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Put me through to billing")
        result.expect.contains_function_call(name="transfer_call")
        assert agent._leaving is not None
        await agent._leaving
    assert [t.request.transfer_to for t in livekit_double.sip.transfers] == [
        f"tel:{BILLING_NUMBER}"
    ]
    assert [d.request.sip_call_to for d in livekit_double.sip.dials] == [BILLING_NUMBER]
    [done] = agent.results
    assert (done.outcome, done.mechanism, done.refer_refused_code) == (
        TransferOutcome.COMPLETED,
        "bridge",
        603,
    )
    assert control.left == ["handed the caller to a human"]


async def test_extension_the_caller_names_is_dialed_on_the_human_leg(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, _, _ = setup
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        await session.run(user_input="Extension two oh four please")
        if agent._leaving is not None:
            await agent._leaving
    [dial] = livekit_double.sip.dials
    assert dial.request.dtmf == "ww204"


async def test_unknown_target_dials_nobody(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, _, _ = setup
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        result = await session.run(user_input="Can I talk to the dentist?")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call(name="transfer_to_human")
        output = result.expect.next_event().is_function_call_output().event().item.output
        assert "front desk, billing office, billing" in output
    assert livekit_double.sip.dials == [] and agent.results == []


async def test_caller_presses_zero_for_a_person(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, _ = setup
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        agent.on_caller_key("0")
        task = agent._key_task
        assert task is not None
        agent.on_caller_key("3")  # a second key while the first transfer runs: ignored
        assert agent._key_task is task
        await task
        assert agent._leaving is not None
        await agent._leaving
    assert [d.request.sip_call_to for d in livekit_double.sip.dials] == [DESK_NUMBER]
    assert livekit_double.sip.transfers == []
    assert control.left == ["handed the caller to a human"]


async def test_caller_presses_an_extension_for_a_cold_target(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, _, _ = setup
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        agent.on_caller_key("3")
        assert agent._key_task is not None
        await agent._key_task
    assert [t.request.transfer_to for t in livekit_double.sip.transfers] == [
        f"tel:{BILLING_NUMBER}"
    ]
    assert [r.outcome for r in agent.results] == [TransferOutcome.COMPLETED]


async def test_key_transfer_that_fails_tells_the_caller(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, control, _ = setup
    livekit_double.sip.script_call(DESK_NUMBER, sip_status_code=486, sip_status="Busy Here")
    agent = transferring(call)
    said: list[str] = []
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        session.on(
            "conversation_item_added",
            lambda ev: (
                said.append(ev.item.text_content or "")
                if getattr(ev.item, "role", "") == "assistant"
                else None
            ),
        )
        await session.start(agent)
        agent.on_caller_key("0")
        assert agent._key_task is not None
        await agent._key_task
        assert agent._line.last_said is not None
        await agent._line.spoken()
    assert said[-1] == (
        "I'm sorry, the front desk is on another call. Would you like to leave a message?"
    )
    assert [r.outcome for r in agent.results] == [TransferOutcome.BUSY]
    assert control.left == []


async def test_unknown_key_does_nothing(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, _, _ = setup
    agent = transferring(call)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        agent.on_caller_key("7")
        assert agent._key_task is None
    assert livekit_double.sip.dials == []


async def test_keys_pressed_on_hold_do_not_start_a_second_transfer(
    livekit_double: LiveKitDouble, setup: tuple[CallContext, Control, TransferDesk]
) -> None:
    call, _, _ = setup
    livekit_double.sip.script_call(DESK_NUMBER, delay=1.0)  # the front desk rings a second
    agent = transferring(call)
    on_hold = asyncio.Event()
    start_hold = agent.start_hold

    async def noting_hold() -> None:
        await start_hold()
        on_hold.set()

    agent.start_hold = noting_hold  # type: ignore[method-assign]
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(agent)
        run = asyncio.ensure_future(session.run(user_input="Can I talk to a person?"))
        await on_hold.wait()
        agent.on_caller_key("0")
        assert agent._key_task is None
        await run
        assert agent._leaving is not None
        await agent._leaving
    assert len(livekit_double.sip.dials) == 1
