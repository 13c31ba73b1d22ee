"""The offline profile's rule-based dialogue drives the transfer tool like a model would."""

from __future__ import annotations

from pathlib import Path

from livekit.agents import Agent, AgentSession, RunContext, function_tool, llm

from dialtone.offline.dialogue import RuleBasedLLM
from dialtone.personas import load_persona

PERSONA = load_persona(Path(__file__).resolve().parents[2] / "personas" / "receptionist.yaml")
SENTENCE = "I'm sorry, the front desk is on another call. Would you like to leave a message?"


class TransferAgent(Agent):
    """The receptionist's transfer tool surface, answering like a busy front desk."""

    def __init__(self, answer: str | None) -> None:
        super().__init__(instructions="transfer")
        self.answer = answer
        self.calls: list[str] = []

    @function_tool
    async def transfer_to_human(
        self, context: RunContext, target: str = "", reason: str = "", extension: str = ""
    ) -> str | None:
        """Connect the caller to a person.

        Args:
            target: Who.
            reason: Why.
            extension: Digits.
        """
        self.calls.append(reason)
        return self.answer


class NoTransferAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="none")


def text(event: object) -> str:
    assert isinstance(event, llm.ChatMessage)
    return event.text_content or ""


async def test_transfer_intent_holds_then_speaks_the_tools_sentence() -> None:
    agent = TransferAgent(f'Tell the caller: "{SENTENCE}" If they want to, use take_message.')
    async with AgentSession(llm=RuleBasedLLM(PERSONA)) as session:
        await session.start(agent)
        result = await session.run(user_input="can i talk to a person")
        hold = result.expect.next_event().is_message(role="assistant").event().item
        assert text(hold) == PERSONA.offline.transfer_hold
        result.expect.next_event().is_function_call(name="transfer_to_human")
        result.expect.next_event().is_function_call_output()
        told = result.expect.next_event().is_message(role="assistant").event().item
        assert text(told) == SENTENCE
        result.expect.no_more_events()
    assert agent.calls == ["can i talk to a person"]


async def test_a_completed_transfer_says_nothing_more() -> None:
    agent = TransferAgent(None)
    async with AgentSession(llm=RuleBasedLLM(PERSONA)) as session:
        await session.start(agent)
        result = await session.run(user_input="can i talk to a person")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call(name="transfer_to_human")
        result.expect.next_event().is_function_call_output()
        result.expect.no_more_events()


async def test_without_targets_the_transfer_intent_only_answers() -> None:
    async with AgentSession(llm=RuleBasedLLM(PERSONA)) as session:
        await session.start(NoTransferAgent())
        result = await session.run(user_input="can i talk to a person")
        reply = result.expect.next_event().is_message(role="assistant").event().item
        assert text(reply) == PERSONA.offline.intents["transfer"].reply
        result.expect.no_more_events()
