"""The rule-based dialogue through a real AgentSession, with the receptionist's tools."""

from __future__ import annotations

from pathlib import Path

from livekit.agents import Agent, AgentSession, RunContext, function_tool, llm
from livekit.agents.voice.run_result import RunResult

from dialtone.offline.dialogue import RuleBasedLLM
from dialtone.personas import Persona, load_persona

PERSONA = load_persona(Path(__file__).resolve().parents[2] / "personas" / "receptionist.yaml")
DIALOGUE = PERSONA.offline


class PhoneAgent(Agent):
    """The receptionist's tool surface, recording calls instead of storing or hanging up."""

    def __init__(self, persona: Persona) -> None:
        super().__init__(instructions=persona.system_prompt())
        self.messages: list[str] = []
        self.hung_up = False

    @function_tool
    async def take_message(self, context: RunContext, message: str) -> str:
        """Save a message from the caller for the staff.

        Args:
            message: The caller's message in their own words.
        """
        self.messages.append(message)
        return "The message is saved."

    @function_tool
    async def end_call(self, context: RunContext) -> None:
        """Hang up after the goodbye."""
        self.hung_up = True


class NoToolsAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="no tools")


def reply_text(event: object) -> str:
    assert isinstance(event, llm.ChatMessage)
    return event.text_content or ""


async def test_an_intent_is_answered_with_its_reply() -> None:
    async with AgentSession(llm=RuleBasedLLM(PERSONA)) as session:
        await session.start(PhoneAgent(PERSONA))
        result: RunResult[None] = await session.run(user_input="what are your hours")
        message = result.expect.next_event().is_message(role="assistant")
        assert reply_text(message.event().item) == DIALOGUE.intents["hours"].reply
        result.expect.no_more_events()


async def test_unknown_speech_gets_the_fallback() -> None:
    async with AgentSession(llm=RuleBasedLLM(PERSONA)) as session:
        await session.start(PhoneAgent(PERSONA))
        result: RunResult[None] = await session.run(user_input="the weather is lovely")
        message = result.expect.next_event().is_message(role="assistant")
        assert reply_text(message.event().item) == DIALOGUE.fallback


async def test_a_message_is_asked_for_taken_and_confirmed() -> None:
    agent = PhoneAgent(PERSONA)
    async with AgentSession(llm=RuleBasedLLM(PERSONA)) as session:
        await session.start(agent)
        asked: RunResult[None] = await session.run(user_input="can I leave a message")
        prompt = asked.expect.next_event().is_message(role="assistant")
        assert reply_text(prompt.event().item) == DIALOGUE.message_prompt

        said = "this is jane doe please call me back"
        taken: RunResult[None] = await session.run(user_input=said)
        taken.expect.next_event().is_function_call(name="take_message", arguments={"message": said})
        taken.expect.next_event().is_function_call_output()
        saved = taken.expect.next_event().is_message(role="assistant")
        assert reply_text(saved.event().item) == DIALOGUE.message_saved
        taken.expect.no_more_events()
    assert agent.messages == [said]


async def test_goodbye_says_goodbye_and_ends_the_call() -> None:
    agent = PhoneAgent(PERSONA)
    async with AgentSession(llm=RuleBasedLLM(PERSONA)) as session:
        await session.start(agent)
        result: RunResult[None] = await session.run(user_input="no thank you goodbye")
        message = result.expect.contains_message(role="assistant")
        assert reply_text(message.event().item) == DIALOGUE.intents["goodbye"].reply
        result.expect.contains_function_call(name="end_call")
    assert agent.hung_up
    assert agent.messages == []


async def test_a_goodbye_instead_of_a_message_is_not_saved() -> None:
    agent = PhoneAgent(PERSONA)
    async with AgentSession(llm=RuleBasedLLM(PERSONA)) as session:
        await session.start(agent)
        await session.run(user_input="take a message")
        result: RunResult[None] = await session.run(user_input="never mind, that's all, bye")
        result.expect.contains_function_call(name="end_call")
    assert agent.messages == []
    assert agent.hung_up


async def test_without_the_tools_it_never_calls_them() -> None:
    async with AgentSession(llm=RuleBasedLLM(PERSONA)) as session:
        await session.start(NoToolsAgent())
        asked: RunResult[None] = await session.run(user_input="can I leave a message")
        message = asked.expect.next_event().is_message(role="assistant")
        assert reply_text(message.event().item) == DIALOGUE.fallback
        asked.expect.no_more_events()

        bye: RunResult[None] = await session.run(user_input="goodbye")
        message = bye.expect.next_event().is_message(role="assistant")
        assert reply_text(message.event().item) == DIALOGUE.intents["goodbye"].reply
        bye.expect.no_more_events()


def test_model_identity() -> None:
    rules = RuleBasedLLM(PERSONA)
    assert (rules.model, rules.provider) == ("rule-based", "dialtone-offline")
