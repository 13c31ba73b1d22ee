"""What a campaign is made of, as validated models, and the checks that need the settings.

Validation happens in two layers so that one upload reports every problem at once:
pydantic checks each contact's own fields (E.164 phone, IANA time zone, variable
sizes), then `check_contacts` applies what needs context: the toll-fraud guard (allowed
country calling codes, premium-rate prefixes) and duplicates within the upload. Every
problem becomes a `RowError(row, field, reason)`; a campaign with any error is not
created at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ..wire import Outcome as Outcome
from ..wire import Phone, Scalar
from .destinations import DestinationPolicy as DestinationPolicy

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

MAX_CONTACTS = 100_000
MAX_VARIABLES = 50
MAX_VARIABLE_CHARS = 1_000
#: A number variable fits a signed 64-bit integer: what both databases store as a number.
MAX_VARIABLE_INT = 2**63 - 1


def no_nul(value: str) -> str:
    """Refuse U+0000: PostgreSQL cannot store it in text, and no name or note needs it."""
    if "\x00" in value:
        raise ValueError("contains a NUL character (\\u0000), which cannot be stored")
    return value


#: Free text the API stores: any characters but NUL.
Text = Annotated[str, AfterValidator(no_nul)]

# --- outcomes and states --------------------------------------------------------------


#: Outcomes after which the contact is never called again, whatever the retry policy says.
FINAL_OUTCOMES = frozenset({Outcome.COMPLETED, Outcome.INVALID_NUMBER, Outcome.OPTED_OUT})
RETRYABLE_OUTCOMES = frozenset(Outcome) - FINAL_OUTCOMES

DEFAULT_RETRY_DELAYS: dict[Outcome, int | None] = {
    Outcome.NO_ANSWER: 3600,
    Outcome.BUSY: 900,
    Outcome.VOICEMAIL: 4 * 3600,
    Outcome.IVR_FAILED: 4 * 3600,
    Outcome.DECLINED: 2 * 3600,
    Outcome.FAILED: 600,
    Outcome.UNKNOWN: 3600,
}


class ContactState(StrEnum):
    """pending -> in_flight -> (retry_wait -> in_flight ...) -> one terminal state."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    RETRY_WAIT = "retry_wait"
    COMPLETED = "completed"
    FAILED = "failed"
    DNC = "dnc"
    CANCELLED = "cancelled"
    EXHAUSTED = "exhausted"

    @property
    def terminal(self) -> bool:
        return self not in (ContactState.PENDING, ContactState.IN_FLIGHT, ContactState.RETRY_WAIT)


TERMINAL_STATES = frozenset(s for s in ContactState if s.terminal)
WAITING_STATES = (ContactState.PENDING, ContactState.RETRY_WAIT)


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class AttemptStatus(StrEnum):
    """dispatching (row written before the API call) -> dispatched -> finished.

    `not_dispatched`: it is certain LiveKit never received a dispatch for it (a guard
    refused at dial time, or the server refused the request); the contact goes back to
    waiting and the attempt does not count. `rejected`: refused for this contact only.
    """

    DISPATCHING = "dispatching"
    DISPATCHED = "dispatched"
    FINISHED = "finished"
    NOT_DISPATCHED = "not_dispatched"
    REJECTED = "rejected"


def check_zone(value: str) -> str:
    no_nul(value)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not an IANA time zone name (e.g. America/New_York)"
        ) from None
    return value


# --- request models -------------------------------------------------------------------


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Monday = 0, as `datetime.weekday()`."""
        return _WEEKDAY_NUMBERS[self]


#: Looked up on every window check (the policy asks thousands a tick): not list.index.
_WEEKDAY_NUMBERS = {day: i for i, day in enumerate(Weekday)}


#: A wall-clock time, read as HH:MM and shown the same way. JSON Schema's "time" format
#: requires an offset, which a window in each contact's own zone must not have, so the
#: schema says what the API really takes and returns: a plain HH:MM string.
WallTime = Annotated[
    time,
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": "^[0-2]?[0-9]:[0-5][0-9](:[0-5][0-9])?$"}),
]
_ONE_DIGIT_HOUR = re.compile(r"\d:\d\d(:\d\d)?")


class CallingWindow(BaseModel):
    """Local wall-clock hours in each contact's own zone; `end` is exclusive.

    An `end` earlier than `start` crosses midnight (20:00-02:00): it opens on the listed
    days and closes on the next morning.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: WallTime = Field(time(9, 0), description="Opening time, HH:MM")
    end: WallTime = Field(time(20, 0), description="Closing time, HH:MM (exclusive)")
    days: list[Weekday] = Field(
        default_factory=lambda: [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI],
        description="Days on which the window opens",
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        """ "9:00" is how people write nine o'clock; ISO parsing wants "09:00"."""
        if isinstance(value, str):
            value = value.strip()
            if _ONE_DIGIT_HOUR.fullmatch(value):
                return f"0{value}"
            if not re.fullmatch(r"\d\d:\d\d(:\d\d)?", value):
                raise ValueError(f"{value!r} is not a time: write HH:MM, e.g. 09:00 or 17:30")
        return value

    @field_validator("start", "end")
    @classmethod
    def _no_zone(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a wall-clock time without offset: it is read in each contact's zone")
        return value

    @model_validator(mode="after")
    def _shape(self) -> CallingWindow:
        if self.start == self.end:
            raise ValueError("start and end are equal: the window would be empty")
        if not self.days:
            raise ValueError("days is empty: the window would never open")
        if len(set(self.days)) != len(self.days):
            raise ValueError("days lists a day twice")
        return self

    @property
    def day_indexes(self) -> frozenset[int]:
        return frozenset(d.number for d in self.days)


class RetryPolicy(BaseModel):
    """How many calls a contact may get, and how long to wait after each outcome."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(3, ge=1, le=10)
    delays: dict[Outcome, int | None] = Field(
        default_factory=lambda: dict(DEFAULT_RETRY_DELAYS),
        description="Seconds to wait before calling again after each retryable outcome; "
        "null = do not call again after it. Unlisted outcomes keep their default.",
    )

    @field_validator("delays")
    @classmethod
    def _delays(cls, value: dict[Outcome, int | None]) -> dict[Outcome, int | None]:
        for outcome, seconds in value.items():
            if outcome in FINAL_OUTCOMES:
                raise ValueError(f"{outcome.value} is final: a contact is never called after it")
            if seconds is not None and not 60 <= seconds <= 14 * 86400:
                raise ValueError(f"{outcome.value}: between 60 seconds and 14 days, or null")
        return {**DEFAULT_RETRY_DELAYS, **value}

    def delay_after(self, outcome: Outcome) -> int | None:
        if outcome in FINAL_OUTCOMES:
            return None
        return self.delays.get(outcome, DEFAULT_RETRY_DELAYS.get(outcome))


class ContactIn(BaseModel):
    """One person to call."""

    model_config = ConfigDict(extra="forbid")

    phone: Phone
    name: Text = Field("", max_length=200)
    timezone: str | None = Field(
        None,
        description="IANA zone; default: the number's (area code), else the campaign's",
        max_length=64,
    )
    country: str | None = Field(
        None,
        description="ISO 3166-1 country code (US, GB) of the callee; default: the number's",
        pattern=r"^[A-Za-z]{2}$",
    )
    region: str | None = Field(
        None,
        description="Subdivision code (FL, OK, ON) where the callee is; default: the "
        "number's area code (NANP), which may be out of date: a contact's own wins",
        pattern=r"^[A-Za-z0-9]{1,3}$",
    )
    variables: dict[str, Scalar] = Field(
        default_factory=dict, description="Free values for the agent, e.g. appointment time"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_zone(value.strip())

    @field_validator("country", "region", mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().upper() or None
        return value

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        if len(value) > MAX_VARIABLES:
            raise ValueError(f"at most {MAX_VARIABLES} variables")
        for key, item in value.items():
            if not _VARIABLE.fullmatch(key):
                raise ValueError(f"variable name {key!r}: letters, digits and _, max 64")
            _check_variable(key, item)
        return value


def _check_variable(key: str, item: Scalar) -> None:
    """What both databases can store and the agent can say: no NUL, no NaN, 64-bit numbers."""
    if isinstance(item, str):
        if len(item) > MAX_VARIABLE_CHARS:
            raise ValueError(f"variable {key!r}: at most {MAX_VARIABLE_CHARS} characters")
        if "\x00" in item:
            raise ValueError(f"variable {key!r}: contains a NUL character (\\u0000)")
    elif isinstance(item, float) and not math.isfinite(item):
        raise ValueError(f"variable {key!r}: {item} is not a number to say; send text")
    elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_VARIABLE_INT:
        raise ValueError(f"variable {key!r}: a number beyond 64 bits; send it as text")


class CampaignSettings(BaseModel):
    """A campaign without its contacts: what is stored as the campaign's spec."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    persona: str = Field(description="Persona the reminder agent speaks as")
    outbound_trunk: Text = Field(
        min_length=1,
        max_length=128,
        description="LiveKit outbound trunk id (ST_...) or the name of an outbound trunk "
        "in DIALTONE_TRUNKS_DIR",
    )
    caller_id: Annotated[Phone, Field(description="E.164 number the callee sees")]
    timezone: str = Field(
        "UTC", description="Default zone for contacts without one; the daily cap's day"
    )
    window: CallingWindow = Field(default_factory=CallingWindow)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    max_concurrent: int = Field(5, ge=1, le=200)
    daily_cap: int = Field(1000, ge=1, le=1_000_000, description="Calls per day at most")
    webhook_url: Text | None = Field(None, max_length=2000)

    @field_validator("persona")
    @classmethod
    def _persona(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("a persona name: letters, digits, _ . -, max 64")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


class CampaignCreate(CampaignSettings):
    """`POST /v1/campaigns` as JSON. `contacts` rows are validated one by one."""

    contacts: list[ContactIn] = Field(min_length=1, max_length=MAX_CONTACTS)


class AdhocCall(BaseModel):
    """`POST /v1/calls`: one call, stored as a one-contact campaign."""

    model_config = ConfigDict(extra="forbid")

    contact: ContactIn
    persona: str
    outbound_trunk: Text = Field(min_length=1, max_length=128)
    caller_id: Phone
    window: CallingWindow = Field(
        default_factory=lambda: CallingWindow(start=time(8, 0), end=time(21, 0), days=list(Weekday))
    )
    max_attempts: int = Field(1, ge=1, le=10)
    webhook_url: Text | None = None


#: Problems listed in a refusal; the rest are counted (`more_errors`), so a few MB of
#: garbage never comes back as a reply larger than the upload.
MAX_LISTED_ERRORS = 100
#: A reason quoting what was sent is cut to this many characters, for the same reason.
MAX_REASON_CHARS = 300
NO_CONTACTS = "at least one contact is needed"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class RowError:
    """One problem: `row` is the contact's number in the upload, from 1 (None: not a row).

    Row N is the Nth contact, in a JSON list and in a CSV file alike (the header is not
    counted; a blank line in a CSV file is, as a spreadsheet shows it).
    """

    row: int | None
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": _cut(self.field, 100),
            "reason": _cut(self.reason, MAX_REASON_CHARS),
        }


class RowErrors:
    """The problems of one request: the first `limit` kept, the rest only counted.

    Memory stays flat however many rows are bad: a 20 MB file of garbage keeps 100
    problems and a number.
    """

    def __init__(self, limit: int = MAX_LISTED_ERRORS) -> None:
        self.listed: list[RowError] = []
        self.more = 0
        self._limit = limit

    def append(self, error: RowError) -> None:
        if len(self.listed) < self._limit:
            self.listed.append(error)
        else:
            self.more += 1

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.append(error)

    def __len__(self) -> int:
        return len(self.listed) + self.more

    def __iter__(self) -> Iterator[RowError]:
        return iter(self.listed)


class SpecError(Exception):
    """The request is invalid; nothing was created."""

    def __init__(self, errors: Iterable[RowError], more: int = 0) -> None:
        self.errors = list(errors)
        self.more = more
        super().__init__(f"{len(self.errors) + more} problem(s)")


def _loc(loc: Iterable[int | str]) -> str:
    return ".".join(str(p) for p in loc) or "(body)"


def settings_errors(exc: ValidationError) -> list[RowError]:
    return [RowError(None, _loc(e["loc"]), strip_value_error(e["msg"])) for e in exc.errors()]


class ContactChecker:
    """Validates contacts one at a time, so a 100,000-row upload is never all in memory.

    Problems go to `errors` (bounded, see `RowErrors`). The phone duplicates within the
    upload are found with a dict of the numbers seen, the only state that grows with the
    upload (about 100 bytes a row). `needs` are the variables the persona's templates
    use: a contact without one would never be called, so it is refused here.
    """

    def __init__(
        self,
        policy: DestinationPolicy,
        errors: RowErrors | None = None,
        *,
        needs: Iterable[str] = (),
        needed_by: str = "",
    ) -> None:
        self.policy = policy
        self.errors = RowErrors() if errors is None else errors
        self.count = 0
        self.needs = sorted(set(needs))
        self.needed_by = needed_by
        self._seen: dict[str, int] = {}

    def check(self, row: int, item: Any) -> ContactIn | None:
        try:
            contact = ContactIn.model_validate(item)
        except ValidationError as exc:
            for e in exc.errors():
                self.errors.append(RowError(row, _loc(e["loc"]), strip_value_error(e["msg"])))
            return None
        refusal = self.policy.refusal(contact.phone)
        if refusal is not None:
            self.errors.append(RowError(row, "phone", refusal))
            return None
        missing = [name for name in self.needs if name not in contact.variables]
        for name in missing:
            self.errors.append(
                RowError(
                    row,
                    f"variables.{name}",
                    f"persona {self.needed_by} says {{{name}}}: every contact needs {name}",
                )
            )
        first = self._seen.setdefault(contact.phone, row)
        if first != row:
            self.errors.append(RowError(row, "phone", f"{contact.phone} is already row {first}"))
            return None
        return None if missing else contact

    def stream(self, rows: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, ContactIn]]:
        """The valid contacts of `rows`; stops (with an error) past `MAX_CONTACTS`."""
        for row, item in rows:
            self.count += 1
            if self.count > MAX_CONTACTS:
                self.errors.append(RowError(None, "contacts", f"at most {MAX_CONTACTS} contacts"))
                return
            contact = self.check(row, item)
            if contact is not None:
                yield row, contact
        if self.count == 0 and not self.errors.more:  # else it only restates those
            self.errors.append(RowError(None, "contacts", NO_CONTACTS))

    def finish(self) -> None:
        """Raise `SpecError` with every problem found, if any (after `stream` is drained)."""
        if len(self.errors):
            raise SpecError(self.errors.listed, self.errors.more)


def parse_settings(raw: dict[str, Any], errors: RowErrors) -> CampaignSettings | None:
    try:
        return CampaignSettings.model_validate(raw)
    except ValidationError as exc:
        errors.extend(settings_errors(exc))
        return None


def parse_campaign(
    raw: dict[str, Any], rows: Sequence[tuple[int, dict[str, Any]]], policy: DestinationPolicy
) -> tuple[CampaignSettings, list[ContactIn]]:
    """Validate the campaign fields and every contact; raise `SpecError` listing all problems.

    `rows` pairs each raw contact with its row number (see `RowError`). The API streams
    instead (`ContactChecker`).
    """
    errors = RowErrors()
    settings = parse_settings(raw, errors)
    checker = ContactChecker(policy, errors)
    contacts = [c for _, c in checker.stream(rows)]
    checker.finish()
    assert settings is not None  # finish() raised otherwise
    return settings, contacts


def strip_value_error(message: str) -> str:
    """pydantic prefixes our ValueError messages with "Value error, "."""
    return message.removeprefix("Value error, ")
