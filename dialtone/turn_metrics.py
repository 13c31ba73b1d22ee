"""Per-turn latency of a call, logged as structured records as each turn completes.

livekit-agents puts the figures on each `ChatMessage.metrics` (the older
`metrics_collected` event is deprecated): the caller's message carries the end-of-turn
delay, the agent's reply carries LLM time to first token, TTS time to first byte and the
end-to-end latency. One log record per agent reply, with the caller turn before it, is
what an operator greps for when a caller complains the agent was slow.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from livekit.agents import AgentSession
from livekit.agents.llm import ChatMessage
from livekit.agents.voice.events import ConversationItemAddedEvent

logger = logging.getLogger("dialtone.turns")


@dataclass
class TurnMetrics:
    """Seconds, or None where the framework did not measure that stage this turn."""

    turn: int
    end_of_turn_delay: float | None
    transcription_delay: float | None
    llm_ttft: float | None
    tts_ttfb: float | None
    e2e_latency: float | None
    interrupted: bool


class TurnMetricsRecorder:
    """Listens to a session and logs one `TurnMetrics` per agent reply."""

    def __init__(self, session: AgentSession, *, call_id: str | None = None) -> None:
        self.turns: list[TurnMetrics] = []
        self._call_id = call_id
        self._last_user: ChatMessage | None = None
        session.on("conversation_item_added", self._on_item)

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, ChatMessage):
            return
        if item.role == "user":
            self._last_user = item
            return
        if item.role != "assistant":
            return
        user = self._last_user.metrics if self._last_user is not None else {}
        reply = item.metrics
        metrics = TurnMetrics(
            turn=len(self.turns) + 1,
            end_of_turn_delay=user.get("end_of_turn_delay"),
            transcription_delay=user.get("transcription_delay"),
            llm_ttft=reply.get("llm_node_ttft"),
            tts_ttfb=reply.get("tts_node_ttfb"),
            e2e_latency=reply.get("e2e_latency"),
            interrupted=item.interrupted,
        )
        self._last_user = None
        self.turns.append(metrics)
        logger.info("turn metrics", extra={"call_id": self._call_id, **asdict(metrics)})
