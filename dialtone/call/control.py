"""What an agent is given to end, leave or transfer its call.

How a call is hung up differs between a real SIP call (delete the room, which drops the
caller's leg) and a simulated one, so agents only see these protocols; the worker and
the simulator each implement them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..telephony.outcomes import TransferResult
from ..telephony.transfer import TransferDesk


class CallControl(Protocol):
    """How this call is ended; the worker and the simulator implement it."""

    async def hang_up(self, reason: str) -> None: ...


class LeaveControl(Protocol):
    """How the agent leaves a call it handed to a human, without ending the call."""

    async def leave(self, reason: str) -> None: ...


@dataclass(frozen=True)
class Transfers:
    """Transfers for one call: the desk that runs them and how the agent leaves after."""

    desk: TransferDesk
    control: LeaveControl


class TransferringAgent(Protocol):
    """An agent that runs transfers: it takes the caller's keys and keeps the results."""

    results: list[TransferResult]

    def on_caller_key(self, key: str) -> None: ...
