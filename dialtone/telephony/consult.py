"""The private half of a warm transfer: the agent consults the human, then connects.

The human is dialed into a *consult room* of their own, never into the caller's room.
There the agent speaks the brief and hears the human's answer while the caller, in the
call room, hears only hold audio. Only when the human accepts are the two rooms joined
(the agent relays audio between them), so nothing the human says or keys before that —
their "hello?", a voicemail greeting, "no, I can't take it", a confirming key — can
reach the caller. docs/transfers.md says why a consult room and not per-track
subscription permissions.

This module holds what does not depend on how the rooms are run: the consult room's
name, what the human's answer means (phrase cues and keys), the offline brief, and the
`ConsultLine` protocol that the worker (`dialtone/call/consult.py`, a real room) and the
simulator (`dialtone/simulate/consult.py`) implement.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

#: How long the human has to answer the brief before the transfer counts as declined.
REPLY_TIMEOUT_S = 12.0
#: The agent's identity in a consult room (the caller's room has the agent's own).
CONSULT_AGENT_IDENTITY = "dialtone-consult"
#: Keys the human may press instead of answering aloud.
ACCEPT_KEY = "1"
DECLINE_KEY = "2"


class ConsultReply(enum.Enum):
    """What the human's answer to the brief means."""

    ACCEPT = "accept"
    DECLINE = "decline"
    UNCLEAR = "unclear"


def consult_room_name(call_room: str) -> str:
    """The consult room for a call: derived from the call room, so a log names both."""
    return f"{call_room}-consult"


_DECLINE = re.compile(
    r"\b(no|nope|can't|cannot|can not|not now|not right now|busy|decline|don't|do not|"
    r"unable|call (them|him|her) back|take a message)\b",
    re.IGNORECASE,
)
_ACCEPT = re.compile(
    r"\b(yes|yeah|yep|sure|okay|ok|put (them|him|her|it) through|connect|go ahead|"
    r"i'll take it|i will take it|send (them|him|her) (over|through))\b",
    re.IGNORECASE,
)


def reply_from_words(words: str | None) -> ConsultReply:
    """The offline profile's reading of the human's answer: phrase cues.

    A refusal wins over a "yes" in the same answer ("yes, but I can't right now"): a
    caller put through to someone who did not want them is worse than a message taken.
    """
    if not words:
        return ConsultReply.UNCLEAR
    if _DECLINE.search(words):
        return ConsultReply.DECLINE
    if _ACCEPT.search(words):
        return ConsultReply.ACCEPT
    return ConsultReply.UNCLEAR


def reply_from_key(digit: str) -> ConsultReply:
    """A key the human pressed: 1 puts the caller through, 2 declines, others are ignored."""
    if digit == ACCEPT_KEY:
        return ConsultReply.ACCEPT
    if digit == DECLINE_KEY:
        return ConsultReply.DECLINE
    return ConsultReply.UNCLEAR


#: Reads the human's words: phrase cues offline, the call's LLM in the cloud profile.
ReplyJudge = Callable[[str], Awaitable[ConsultReply]]


async def judge_by_phrases(words: str) -> ConsultReply:
    """`ReplyJudge` for the offline profile."""
    return reply_from_words(words)


def spoken_number(number: str) -> str:
    """A phone number as a voice reads it back: digit by digit, in groups.

    Text-to-speech reads "+15551230000" as one large number; "1, 5 5 5, 1 2 3, 0 0 0 0"
    is what a person writing it down needs. North American numbers are grouped 1-3-3-4;
    others in threes from the left.
    """
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        groups = [digits[0], digits[1:4], digits[4:7], digits[7:]]
    else:
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return ", ".join(" ".join(group) for group in groups if group)


def template_brief(
    *,
    target: str,
    business: str,
    caller_number: str | None,
    reason: str,
    said: list[str] | None = None,
) -> str:
    """The brief the offline profile speaks: who, their number, why, what they said.

    It is heard by the human only, so it can name the caller's number and end with the
    question the human answers.
    """
    who = f"a caller on {spoken_number(caller_number)}" if caller_number else "a caller"
    about = reason.strip().rstrip(".") or "a question"
    lines = [f"Hi {target}, {business} here. I have {who}, about {about}."]
    quoted = [line.strip().rstrip(".") for line in (said or []) if line.strip()]
    if quoted and quoted[-1].lower() != about.lower():
        lines.append(f'They said: "{quoted[-1]}."')
    lines.append("Will you take the call? Say yes or no, or press 1 or 2.")
    return " ".join(lines)


class ConsultLine(Protocol):
    """The agent's line into one consult room (worker: a real room; simulator: a model).

    The desk drives it in this order: `open` (join the consult room before the human is
    dialed into it), `first_words` (voicemail check), `brief`, `reply`, then `connect` on
    acceptance; `close` always, which on anything but a connection leaves the caller as
    they were. Nothing here is heard in the caller's room until `connect`.
    """

    room: str

    async def open(self) -> None: ...

    async def first_words(self, identity: str) -> str | None: ...

    async def brief(self, identity: str, text: str) -> None: ...

    async def reply(self, identity: str, seconds: float) -> ConsultReply: ...

    async def connect(self, identity: str) -> None: ...

    async def close(self) -> None: ...


#: Makes the consult line of one transfer attempt, given the consult room's name.
ConsultLines = Callable[[str], ConsultLine]
