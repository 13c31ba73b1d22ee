"""What an inbound agent is given about its call.

How it ends or leaves the call (`CallControl`, `Transfers`) is shared with the outbound
agent and lives in `dialtone.call`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from livekit.agents import Agent

from ..call.control import CallControl, Transfers
from ..messages.store import MessageStore
from ..personas import Persona
from ..telephony.caller import CallerInfo


@dataclass(frozen=True)
class CallContext:
    """Everything about one call that the agent's tools need."""

    persona: Persona
    caller: CallerInfo
    room: str | None
    messages: MessageStore
    control: CallControl
    transfers: Transfers | None = None


#: An agent program's factory: the Agent that answers one call.
MakeAgent = Callable[[CallContext], Agent]
