"""The contracts dialtone writes in one process and reads in another, each defined once.

A phone number, a job's dispatch metadata, a room name or an agent name crosses a
process boundary (API -> database -> dialer -> LiveKit -> worker); when writer and
reader each spell the contract their own way, they drift apart silently. So each is a
type or a constant here, written and read through the same definition. This is the
bottom layer: it imports only pydantic and the standard library.

Phone numbers: whatever people type or paste (spaces, dashes, dots, parentheses,
fullwidth or Arabic-Indic digits) is normalised first, then checked against one fully
anchored, ASCII-only E.164 pattern; only the canonical form is stored or compared, so a
do-not-call entry blocks the number however either side was written.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

logger = logging.getLogger("dialtone.wire")

# --- phone numbers --------------------------------------------------------------------

#: E.164 in its canonical form: "+", a country code not starting with 0, 7 to 15 digits
#: in all. ASCII digits only (`[0-9]`, never `\d`, which admits every script's digits).
PHONE_PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EXAMPLE = "+15550100100"
_PUNCTUATION = frozenset("().")


def _is_separator(ch: str) -> bool:
    return ch.isspace() or ch in _PUNCTUATION or unicodedata.category(ch) == "Pd"


def _ascii_digit(ch: str) -> str:
    """Any script's decimal digit as its ASCII digit (NFKC leaves Arabic-Indic as is)."""
    return str(unicodedata.decimal(ch)) if ch.isdecimal() else ch


def _why_not(cleaned: str) -> str:
    if not cleaned:
        return "it is empty"
    if not cleaned.startswith("+"):
        return "it must start with + and the country code"
    bad = next((ch for ch in cleaned[1:] if not "0" <= ch <= "9"), None)
    if bad is not None:
        return f"{bad!r} is not a digit"
    if cleaned[1:2] == "0":
        return "a country code never starts with 0"
    return f"it has {len(cleaned) - 1} digits; E.164 allows 7 to 15"


def normalize_phone(text: object) -> str:
    """The canonical E.164 form of `text`, or a ValueError saying what to fix.

    Unicode NFKC (fullwidth "＋１" -> "+1"), every script's digits to ASCII, then spaces,
    dashes, dots and parentheses removed ("+1 (555) 010-0100" -> "+15550100100").
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not an E.164 number: write it as text, e.g. {_EXAMPLE}")
    folded = unicodedata.normalize("NFKC", text)
    cleaned = "".join(_ascii_digit(ch) for ch in folded if not _is_separator(ch))
    if PHONE_PATTERN.fullmatch(cleaned) is None:
        raise ValueError(f"{text!r} is not an E.164 number such as {_EXAMPLE}: {_why_not(cleaned)}")
    return cleaned


#: A phone number field: accepts what `normalize_phone` accepts, holds the canonical form.
Phone = Annotated[
    str,
    BeforeValidator(normalize_phone),
    Field(description=f"E.164, e.g. {_EXAMPLE}", examples=[_EXAMPLE]),
]

# --- rooms, identities, agent names ---------------------------------------------------

#: Every campaign attempt's room is `dt-attempt-<attempt id>`: the dialer dispatches
#: into it, the agent dials into it, reconciliation and call records find it by it.
ROOM_PREFIX = "dt-attempt-"
#: The participant identity of the person an outbound call reaches.
CALLEE_IDENTITY = "callee"

#: The agent names the worker registers with LiveKit; dispatch rules and the dialer
#: name them, so `trunkspec` and `campaigns` know them without importing the worker.
RECEPTIONIST = "receptionist"
REMINDER = "reminder"
KNOWN_AGENT_NAMES: frozenset[str] = frozenset({RECEPTIONIST, REMINDER})


def room_for(attempt_id: str) -> str:
    return f"{ROOM_PREFIX}{attempt_id}"


# --- job metadata ---------------------------------------------------------------------

Scalar = str | int | float | bool


class JobError(ValueError):
    """The dispatch metadata is not a job this worker can run."""


def _field_errors(exc: ValidationError) -> str:
    """Which fields are wrong, never their values (the metadata holds a secret)."""
    return ", ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(metadata)'}: {e['msg']}"
        for e in exc.errors(include_input=False)
    )


class InboundJob(BaseModel):
    """What a dialtone dispatch rule asks of the receptionist: which persona answers.

    The reader is tolerant: a rule written by hand or by another tool must still get
    the call answered, by the default persona, with a warning saying why.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    persona: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    def to_metadata(self) -> str:
        """The RoomAgentDispatch metadata; empty without a persona (LiveKit's default)."""
        if self.persona is None:
            return ""
        return json.dumps({"persona": self.persona}, separators=(",", ":"))

    @classmethod
    def from_metadata(cls, raw: str) -> InboundJob:
        if not raw.strip():
            return cls()
        try:
            data: Any = json.loads(raw)
            return cls.model_validate(data)
        except json.JSONDecodeError:
            logger.warning("job metadata is not JSON; using the default persona")
        except ValidationError as exc:
            logger.warning(
                "job metadata ignored (%s); using the default persona", _field_errors(exc)
            )
        return cls()


class ReminderJob(BaseModel):
    """One attempt to call one contact, as the campaign dialer dispatches it.

    The reader is strict: a job misread must not place a call. The callback token is a
    `SecretStr`: never printed, logged or put in an error message.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal[1]
    kind: Literal["reminder"]
    attempt_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    attempt_number: int = Field(ge=1)
    campaign_id: str = Field(min_length=1, max_length=64)
    contact_id: int
    phone: Phone
    name: str = ""
    timezone: str = "UTC"
    persona: str = Field(min_length=1, max_length=64)
    variables: dict[str, Scalar] = Field(default_factory=dict)
    outbound_trunk: str = Field(min_length=1, max_length=128)
    caller_id: Phone
    callback_token: SecretStr

    def to_metadata(self) -> str:
        """The JSON the agent receives, the token included (the dispatch carries it)."""
        data = self.model_dump(mode="json")
        data["callback_token"] = self.callback_token.get_secret_value()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_metadata(cls, raw: str) -> ReminderJob:
        """Parse the job metadata; the error names the field, never a value."""
        try:
            data: Any = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise JobError(f"job metadata is not JSON ({exc.msg})") from None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise JobError(f"job metadata is not a reminder job: {_field_errors(exc)}") from None


# --- outcomes: what the agents report and the API, webhooks and records carry ------------


class Outcome(StrEnum):
    """How one campaign attempt ended (reported by the reminder agent, or by the API)."""

    COMPLETED = "completed"  # reached the person, the reminder was delivered
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    DECLINED = "declined"  # the callee rejected the call (SIP 603/607/608)
    INVALID_NUMBER = "invalid_number"  # SIP 404/484/604: the number does not exist
    OPTED_OUT = "opted_out"  # asked not to be called again: goes on the do-not-call list
    FAILED = "failed"  # trunk or network failure on our side
    UNKNOWN = "unknown"  # no report within the outcome deadline (agent crashed?)
    IVR_FAILED = "ivr_failed"  # a phone menu answered and did not lead to the person


class CallOutcome(StrEnum):
    """How a call ended."""

    COMPLETED = "completed"  # answered, talked, ended normally
    TRANSFERRED = "transferred"  # handed to a human
    VOICEMAIL = "voicemail"  # outbound: a machine answered
    BUSY = "busy"  # SIP 486/600
    NO_ANSWER = "no_answer"  # SIP 408/480/487 or our ringing timeout
    DECLINED = "declined"  # SIP 603/607/608
    INVALID_NUMBER = "invalid_number"  # SIP 404/410/484/604
    FAILED = "failed"  # trunk, auth, codec, carrier (5xx) failure, or an agent error
    ABANDONED = "abandoned"  # inbound: the caller hung up before the agent answered
    WORKER_LOST = "worker_lost"  # closed by lease or webhook: the agent died

    @property
    def answered(self) -> bool:
        """The far end picked up (a person or a machine)."""
        return self in _ANSWERED

    @property
    def setup_failed(self) -> bool:
        """Call setup failed on our side or in the network, not by the callee's choice.

        Busy, no answer, declined and invalid numbers are the callee's (or the caller's)
        doing and count as successful setups, as in the ITU definition of the call setup
        success ratio; a trunk, auth, codec or carrier failure does not.
        """
        return self is CallOutcome.FAILED


_ANSWERED = frozenset({CallOutcome.COMPLETED, CallOutcome.TRANSFERRED, CallOutcome.VOICEMAIL})
