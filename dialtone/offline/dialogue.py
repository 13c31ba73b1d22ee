"""The offline profile's dialogue: persona rules behind livekit-agents' LLM interface.

Offline mode has no LLM. `RuleBasedLLM` answers from the persona's `offline` section by
matching the caller's words to its intents, and speaks through the same tool calls a real
model would make (`take_message`, `end_call`), so the same Agent class, tools, message
store and hang-up logic serve both profiles. The rules, in order:

- after the agent asked for a message, whatever the caller says is the message
  (unless it is clearly a goodbye) and becomes a `take_message` call;
- a goodbye answers with the goodbye and calls `end_call`;
- `message` asks for the message; any other intent answers with its reply;
- no intent (or a tool this agent does not offer) answers with the fallback;
- `transfer`, when the agent offers `transfer_to_human` (persona transfer targets), says
  `transfer_hold` and calls it; without the tool it answers with the intent's reply;
- after `take_message` returns, confirm with `message_saved`; after a transfer tool
  returns, speak the quoted sentence of its answer (if any); after `end_call`, say nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import APIConnectOptions, llm, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

from ..personas import Persona
from .intents import DEFAULT_THRESHOLD, match_intent, tokens

TAKE_MESSAGE = "take_message"
END_CALL = "end_call"
TRANSFER = "transfer_to_human"
TRANSFER_TOOLS = frozenset({TRANSFER, "transfer_call"})
_QUOTED = re.compile(r'"([^"]+)"')
GOODBYE_THRESHOLD = 0.6
"""Hanging up on a misheard word is worse than asking again, so goodbye needs more."""


@dataclass(frozen=True)
class Turn:
    """What the rules decided to say and which tools to call, in that order."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class RuleLLM(llm.LLM):
    """livekit-agents' LLM interface for dialogue that needs no model.

    The offline receptionist, the offline reminder and the offline answering-machine
    classifier all decide a whole `Turn` from the conversation so far; this class holds
    the interface boilerplate once, so a subclass only names itself and writes `decide`.
    A tool the agent does not offer (or `tool_choice="none"`) is never in `offered`.
    """

    model_name = "rules"

    @property
    def model(self) -> str:
        return self.model_name

    @property
    def provider(self) -> str:
        return "dialtone-offline"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> RuleBasedStream:
        offered = set() if tool_choice == "none" else {tool.id for tool in tools or []}
        return RuleBasedStream(
            self,
            turn=self.decide(chat_ctx, offered),
            chat_ctx=chat_ctx,
            tools=tools or [],
            conn_options=conn_options,
        )

    def decide(self, chat_ctx: llm.ChatContext, offered: set[str]) -> Turn:
        """The reply to the conversation so far, given the names of the tools on offer."""
        raise NotImplementedError


class PersonaRules(RuleLLM):
    """Rules read from a persona's `offline` section; `threshold` is the intent match bar."""

    def __init__(self, persona: Persona, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        super().__init__()
        self.persona = persona
        self.threshold = threshold


def turn_items(chat_ctx: llm.ChatContext) -> list[llm.ChatItem]:
    """What the rules read: caller and agent messages and tool outputs, oldest first."""
    return [
        item
        for item in chat_ctx.items
        if item.type == "function_call_output"
        or (item.type == "message" and item.role in ("user", "assistant"))
    ]


class RuleBasedLLM(PersonaRules):
    """A persona's rule-based dialogue, usable wherever livekit-agents expects an LLM."""

    model_name = "rule-based"

    def decide(self, chat_ctx: llm.ChatContext, offered: set[str]) -> Turn:
        """The reply to the conversation so far, given the names of the tools on offer."""
        dialogue = self.persona.offline
        items = turn_items(chat_ctx)
        if not items:
            return Turn()
        last = items[-1]
        if last.type == "function_call_output":
            if last.name == TAKE_MESSAGE:
                return Turn(dialogue.message_saved)
            if last.name in TRANSFER_TOOLS:
                quoted = _QUOTED.search(last.output or "")
                return Turn(quoted.group(1) if quoted else "")
            return Turn()  # end_call and anything else: the agent has nothing to add
        if last.type != "message" or last.role != "user":
            return Turn()
        said = last.text_content or ""

        intents = {name: intent.examples for name, intent in dialogue.intents.items()}
        found = match_intent(said, intents, threshold=self.threshold)
        if found is not None and found.intent == "goodbye" and found.score < GOODBYE_THRESHOLD:
            found = None

        if _asked_for_message(items[:-1], dialogue.message_prompt) and (
            found is None or found.intent != "goodbye"
        ):
            if TAKE_MESSAGE not in offered:
                return Turn(dialogue.fallback)
            return Turn(tool_calls=[(TAKE_MESSAGE, {"message": said.strip()})])
        if found is None:
            return Turn(dialogue.fallback)
        if found.intent == "goodbye":
            reply = dialogue.intents["goodbye"].reply or self.persona.goodbye
            # Without end_call the goodbye is still the right thing to say.
            calls: list[tuple[str, dict[str, Any]]] = [(END_CALL, {})]
            return Turn(reply, calls if END_CALL in offered else [])
        if found.intent == "transfer" and TRANSFER in offered:
            return Turn(dialogue.transfer_hold, [(TRANSFER, {"reason": said.strip()})])
        if found.intent == "message":
            if TAKE_MESSAGE not in offered:
                return Turn(dialogue.fallback)
            return Turn(dialogue.message_prompt)
        return Turn(dialogue.intents[found.intent].reply or dialogue.fallback)


def _asked_for_message(history: Sequence[llm.ChatItem], prompt: str) -> bool:
    """Whether the agent's latest message asked for the message (or began to, if cut off)."""
    for item in reversed(history):
        if item.type == "message" and item.role == "assistant":
            said = tokens(item.text_content or "")
            wanted = tokens(prompt)
            if said == wanted:
                return True
            return bool(item.interrupted and said and wanted[: len(said)] == said)
        if item.type == "message" and item.role == "user":
            return False
    return False


class RuleBasedStream(llm.LLMStream):
    """Sends one decided turn as a single chunk: text and tool calls together."""

    def __init__(
        self,
        rules: RuleLLM,
        *,
        turn: Turn,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(rules, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._turn = turn

    async def _run(self) -> None:
        if not self._turn.text and not self._turn.tool_calls:
            return
        calls = [
            llm.FunctionToolCall(
                name=name, arguments=json.dumps(arguments), call_id=utils.shortuuid("call_")
            )
            for name, arguments in self._turn.tool_calls
        ]
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id=utils.shortuuid("rules_"),
                delta=llm.ChoiceDelta(
                    role="assistant", content=self._turn.text or None, tool_calls=calls
                ),
            )
        )
