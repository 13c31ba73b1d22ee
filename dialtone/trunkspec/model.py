"""The schema of `trunks/*.yaml`: inbound trunks, outbound trunks, dispatch rules.

The models are strict (unknown keys are errors) because a typo such as `allowed_adresses`
silently ignored would open a trunk to the whole internet. Field names follow LiveKit's
where they mean the same thing, so `docs/trunks.md` and LiveKit's docs read alike.
Secrets are kept as `${ENV_VAR}` references here; `loader` resolves them.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..wire import Phone
from .secrets import env_name

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")
ROOM = re.compile(r"^[A-Za-z0-9_.:-]*$")
PIN = re.compile(r"^[0-9]{1,16}$")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h)?$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

MediaEncryption = Literal["disable", "allow", "require"]
Transport = Literal["auto", "udp", "tcp", "tls"]
RuleKind = Literal["individual", "direct", "callee"]


def _seconds(value: Any) -> int:
    """`30`, `"30s"`, `"5m"` or `"2h"` -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 2h")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(str(value).strip())
        if not match:
            raise ValueError("expected a duration such as 30s, 5m or 2h")
        seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError("must be positive")
    return seconds


def ascii_digits(text: str) -> str:
    """Any script's decimal digits as ASCII ("４３٢١" -> "4321"), as the phone type does;
    digit-like symbols (superscripts) stay as they are, and are then refused."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def _secret_ref(value: Any) -> str:
    """Only `${ENV_VAR}`: a password written into a file ends up in git history."""
    if not isinstance(value, str) or env_name(value) is None:
        raise ValueError(
            "a literal secret is not allowed here; write ${ENV_VAR} and set that "
            "environment variable"
        )
    return value


Seconds = Annotated[int, BeforeValidator(_seconds)]
SecretRef = Annotated[str, BeforeValidator(_secret_ref)]


def _unique(values: list[str], what: str) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is listed twice")
        seen.add(value)
    return values


def _check_header_names(names: list[str]) -> None:
    for name in names:
        if not HEADER_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid SIP header name")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Auth(_Strict):
    """SIP digest authentication; the password only as `${ENV_VAR}`."""

    username: Annotated[str, Field(min_length=1)]
    password: SecretRef


class _Named(_Strict):
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(
                "must start with a letter or digit and hold only letters, digits, "
                "spaces, '.', '_' or '-' (at most 100)"
            )
        return value


class InboundTrunkSpec(_Named):
    """Calls a carrier delivers to LiveKit: who may send them, for which numbers."""

    numbers: list[Phone] = []
    allowed_addresses: list[str] = []
    allowed_numbers: list[Phone] = []
    auth: Auth | None = None
    media_encryption: MediaEncryption = "disable"
    krisp: bool = False
    headers_to_attributes: dict[str, str] = {}
    ringing_timeout: Seconds | None = None
    max_call_duration: Seconds | None = None

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        return _unique(value, "number")

    @field_validator("allowed_numbers")
    @classmethod
    def _allowed_numbers(cls, value: list[str]) -> list[str]:
        return _unique(value, "caller number")

    @field_validator("allowed_addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or CIDR range such as 203.0.113.0/24"
                ) from None
        return _unique(value, "address")

    @field_validator("headers_to_attributes")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        _check_header_names(list(value))
        for attribute in value.values():
            if not ATTRIBUTE_NAME.match(attribute):
                raise ValueError(f"{attribute!r} is not a valid participant attribute name")
        return value

    @model_validator(mode="after")
    def _secured(self) -> InboundTrunkSpec:
        # The server's own rule (livekit/sip.go): an inbound trunk open to any caller at
        # any address for any number is refused "for security".
        if not (self.auth or self.allowed_addresses or self.numbers):
            raise ValueError("set at least one of auth, allowed_addresses or numbers (LiveKit)")
        return self


class OutboundTrunkSpec(_Named):
    """Calls the agents place through a carrier."""

    address: str
    transport: Transport = "auto"
    numbers: Annotated[list[Phone], Field(min_length=1)]
    auth: Auth | None = None
    headers: dict[str, str] = {}
    media_encryption: MediaEncryption = "disable"

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        # Mirrors the server's validateHostnameFormat, with the fix spelled out.
        if value.startswith(("sip:", "sips:")) or "@" in value or ";" in value:
            raise ValueError(
                "must be a hostname or IP (optionally :port), not a SIP URI; "
                "put the transport in `transport`"
            )
        if not _HOST.match(value):
            raise ValueError(f"{value!r} is not a hostname or IP address")
        return value

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        return _unique(value, "number")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        _check_header_names(list(value))
        for name, text in value.items():
            if any(ch in text for ch in "\r\n\0"):
                raise ValueError(f"header {name!r}: value must be one line")
        return value


_TRUNK_ONLY = {
    "ringing_timeout": "set ringing_timeout on the inbound trunk: LiveKit has no such "
    "field on dispatch rules",
    "max_call_duration": "set max_call_duration on the inbound trunk: LiveKit has no such "
    "field on dispatch rules",
}


class DispatchRuleSpec(_Named):
    """Which room an inbound call joins, and which agent (and persona) answers it."""

    trunks: list[str] = []
    numbers: list[Phone] = []
    callers: list[Phone] = []
    kind: RuleKind = "individual"
    room_prefix: str | None = None
    room: str | None = None
    pin: str | None = None
    agent: str
    persona: str | None = None
    attributes: dict[str, str] = {}
    hide_phone_number: bool = False

    @model_validator(mode="before")
    @classmethod
    def _explain_trunk_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, why in _TRUNK_ONLY.items():
                if key in data:
                    raise ValueError(why)
        return data

    @field_validator("trunks")
    @classmethod
    def _trunks(cls, value: list[str]) -> list[str]:
        return _unique(value, "trunk")

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        return _unique(value, "number")

    @field_validator("callers")
    @classmethod
    def _callers(cls, value: list[str]) -> list[str]:
        return _unique(value, "caller number")

    @field_validator("room_prefix", "room")
    @classmethod
    def _room(cls, value: str | None) -> str | None:
        if value is not None and not ROOM.match(value):
            raise ValueError("may hold only letters, digits, '_', '-', '.' and ':'")
        return value

    @field_validator("pin")
    @classmethod
    def _pin(cls, value: str | None) -> str | None:
        if value is None or env_name(value):
            return value
        if not PIN.match(digits := ascii_digits(value)):
            raise ValueError("must be digits, or ${ENV_VAR} holding digits")
        return digits

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not ATTRIBUTE_NAME.match(key):
                raise ValueError(f"{key!r} is not a valid participant attribute name")
        return value

    @field_validator("agent")
    @classmethod
    def _agent(cls, value: str) -> str:
        if not value:
            raise ValueError("name the agent to dispatch")
        return value

    @model_validator(mode="after")
    def _room_for_kind(self) -> DispatchRuleSpec:
        if self.kind == "direct":
            if not self.room:
                raise ValueError("kind direct needs `room` (every caller joins that room)")
            if self.room_prefix is not None:
                raise ValueError("kind direct takes `room`, not `room_prefix`")
        elif self.room is not None:
            raise ValueError(f"kind {self.kind} takes `room_prefix`, not `room`")
        return self

    @property
    def effective_room_prefix(self) -> str:
        return "call-" if self.room_prefix is None else self.room_prefix


class TrunkFile(_Strict):
    """One YAML file; several files merge into one desired state."""

    inbound_trunks: list[InboundTrunkSpec] = []
    outbound_trunks: list[OutboundTrunkSpec] = []
    dispatch_rules: list[DispatchRuleSpec] = []
