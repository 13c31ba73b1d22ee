"""Behaviour of the receptionist's tools through a real AgentSession (scripted LLM)."""

from __future__ import annotations

from pathlib import Path

import pytest
from livekit.agents import AgentSession
from livekit.agents.llm import ChatContext

from dialtone.db.engine import make_engine, sqlite_url
from dialtone.inbound.call import CallContext
from dialtone.messages.store import MessageStore
from dialtone.personas import PersonaBook
from dialtone.telephony.caller import CallerInfo
from tests.fakes import Reply, ScriptedLLM, last_item_type, last_user_text
from tests.programs import receptionist

Receptionist = receptionist.Receptionist

PERSONAS = Path(__file__).resolve().parents[2] / "personas"


class RecordingControl:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def hang_up(self, reason: str) -> None:
        self.reasons.append(reason)


def respond(chat_ctx: ChatContext) -> Reply:
    if last_item_type(chat_ctx) == "function_call_output":
        return Reply("I've passed your message on.")
    text = last_user_text(chat_ctx)
    if "message" in text:
        args = {"message": "Jane Doe, call me back", "caller_name": "Jane Doe"}
        return Reply(tool_calls=[("take_message", args)])
    if "bye" in text:
        return Reply("Goodbye!", tool_calls=[("end_call", {})])
    return Reply("We are open nine to five.")


@pytest.fixture
def call(tmp_path: Path) -> CallContext:
    persona = PersonaBook.load(PERSONAS, "receptionist").pick()
    return CallContext(
        persona=persona,
        caller=CallerInfo(phone_number="+15551230000", call_id="SCL_test1"),
        room="room-1",
        messages=MessageStore(make_engine(sqlite_url(tmp_path))),
        control=RecordingControl(),
    )


async def test_take_message_stores_one_durable_record(call: CallContext, tmp_path: Path) -> None:
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(Receptionist(call))
        result = await session.run(user_input="Can I leave a message?")
        result.expect.next_event().is_function_call(
            name="take_message",
            arguments={"message": "Jane Doe, call me back", "caller_name": "Jane Doe"},
        )
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()

    # A new engine on the same file: the message survived the session.
    stored = MessageStore(make_engine(sqlite_url(tmp_path))).list()
    assert [(m.message, m.caller_name, m.caller_number, m.call_id, m.persona) for m in stored] == [
        ("Jane Doe, call me back", "Jane Doe", "+15551230000", "SCL_test1", "receptionist")
    ]


async def test_end_call_hangs_up_after_the_goodbye(call: CallContext) -> None:
    control = call.control
    assert isinstance(control, RecordingControl)
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(Receptionist(call))
        result = await session.run(user_input="That's all, bye")
        result.expect.contains_message(role="assistant")
        result.expect.contains_function_call(name="end_call")
    assert control.reasons == ["agent ended the call"]


async def test_a_question_is_answered_without_tools(call: CallContext, tmp_path: Path) -> None:
    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        await session.start(Receptionist(call))
        result = await session.run(user_input="When are you open?")
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    assert MessageStore(make_engine(sqlite_url(tmp_path))).list() == []
    assert isinstance(call.control, RecordingControl) and call.control.reasons == []
