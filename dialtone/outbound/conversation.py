"""What the answered part of an attempt needs: of the agent, and of the call's line.

`after_answer` (attempt.py) and the screening path (screening.py) both drive the
reminder agent through `Conversation` and the line through `AnswerHooks`; the
entrypoint, the simulator and the tests each provide their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from livekit.agents.voice.speech_handle import SpeechHandle

from .answering import Verdict
from .dial import ReportedOutcome

#: How long to wait for the words of a greeting already judged to be a person's.
GREETING_SETTLE_S = 1.5


class Conversation(Protocol):
    """What `after_answer` needs of the reminder agent once someone answered.

    `spoke_at`: when its voice first started (monotonic clock), None until it has; a
    person who hears nothing within `ABANDON_AFTER_S` counts as an abandoned call.
    """

    spoke_at: float | None

    async def leave_voicemail(self) -> None: ...

    async def answer_screener(self) -> None: ...

    async def greeting_settled(self, seconds: float) -> None: ...

    def deliver(self) -> SpeechHandle: ...

    def result(self) -> ReportedOutcome: ...


@dataclass(frozen=True, kw_only=True)
class AnswerHooks:
    """What the answered part of an attempt does on the line, as the call provides it.

    `beep`: True once the mailbox beep has gone (False: gave up waiting).
    `conversation`: returns when the conversation with a person is over.
    `listen`: one more round of who-is-there (after a screener), until sure.
    `quiet`: returns once the far end is not speaking.
    `menu`: the words a phone menu says until it stops (None: menus are not navigated);
    with `again=True`, first waits for the menu to say itself again ("" if it does not).
    `send_keys`: sends keys to the far end's leg only.
    """

    beep: Callable[[], Awaitable[bool]]
    conversation: Callable[[], Awaitable[None]]
    listen: Callable[[], Awaitable[Verdict]]
    quiet: Callable[[], Awaitable[None]]
    menu: Callable[[bool], Awaitable[str]] | None = None
    send_keys: Callable[[str], Awaitable[None]] | None = None
