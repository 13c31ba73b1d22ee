"""The server's SIP validation rules (LiveKit's API docs), written from the Go code's behaviour.

Per-object checks (livekit/protocol `livekit/sip.go`) return a `Problem` rather
than raising, because the server turns the same check into different Twirp codes
depending on where it runs: on a create or a ``replace`` update it is wrapped as
``invalid_argument``; after applying a field ``update`` the raw error escapes,
which twirp reports as ``unknown`` (HTTP 500) unless the error is a typed psrpc
error (the inbound "for security" check is one, so it stays ``invalid_argument``).

Conflict checks (livekit/protocol `sip/sip.go`) raise TwirpError directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from livekit.protocol.models import ListUpdate
from livekit.protocol.sip import (
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPMediaConfig,
    SIPOutboundConfig,
    SIPOutboundTrunkInfo,
)

from .errors import TwirpError
from .numbers import go_quote_list, normalize_number


@dataclass(frozen=True)
class Problem:
    """A failed per-object check. ``typed`` = the server raised a coded psrpc error."""

    msg: str
    typed: bool = False

    def as_invalid_argument(self) -> TwirpError:
        return TwirpError("invalid_argument", self.msg)

    def as_escaped(self) -> TwirpError:
        """How the error surfaces when the server returns it unwrapped."""
        return TwirpError("invalid_argument" if self.typed else "unknown", self.msg)


# --- per-object checks -------------------------------------------------------

# RFC 3261 token characters, which SIP header names must consist of.
_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")


def _check_headers(headers: dict[str, str]) -> Problem | None:
    for name, value in headers.items():
        if not name:
            return Problem("invalid header name: header name cannot be empty")
        if len(name) > 255:
            return Problem("invalid header name: header name too long (max 255 characters)")
        if not _TOKEN.match(name):
            return Problem(f"invalid header name: header name {name} contains invalid characters")
        if len(value) > 1024:
            return Problem(f"invalid header value for {name}: value too long (max 1024 characters)")
    return None


def _check_media(media: SIPMediaConfig) -> Problem | None:
    for codec in media.codecs:
        if not codec.name:
            return Problem("missing codec name")
        if any(c in codec.name for c in " \t\n\r"):
            return Problem("invalid codec name")
        if "/" in codec.name:
            return Problem("codec name must not contain '/'")
    return None


def _check_hostname(value: str, field_name: str) -> Problem | None:
    """`validateHostnameFormat`: a hostname or IP, never a SIP URI."""
    if "transport=" in value:
        return Problem(f"{field_name} should not contain transport parameter")
    if "@" in value or ";" in value or value.startswith(("sip:", "sips:")):
        return Problem(f"{field_name} should be a hostname or IP, not SIP URI")
    return None


def check_inbound(info: SIPInboundTrunkInfo) -> Problem | None:
    has_auth = bool(info.auth_username or info.auth_password)
    if not has_auth and not info.allowed_addresses and not info.numbers:
        return Problem(
            "for security, one of the fields must be set: "
            "AuthUsername+AuthPassword, AllowedAddresses or Numbers",
            typed=True,
        )
    return _check_media(info.media) or _check_headers(dict(info.headers))


def check_outbound(info: SIPOutboundTrunkInfo) -> Problem | None:
    if not info.numbers:
        return Problem("no trunk numbers specified")
    if not info.address:
        return Problem("no outbound address specified")
    return (
        _check_hostname(info.address, "trunk address")
        or _check_hostname(info.from_host, "from_host")
        or _check_headers(dict(info.headers))
        or _check_media(info.media)
    )


def check_outbound_config(cfg: SIPOutboundConfig) -> Problem | None:
    if not cfg.hostname:
        return Problem("no outbound hostname specified")
    return _check_hostname(cfg.hostname, "trunk hostname") or _check_hostname(
        cfg.from_host, "from_host"
    )


def check_rule(info: SIPDispatchRuleInfo) -> Problem | None:
    if not info.HasField("rule"):
        return Problem("missing rule")
    return _check_media(info.media)


# --- ListUpdate ----------------------------------------------------------------


def check_list_update(u: ListUpdate) -> Problem | None:
    change = bool(u.set or u.add or u.remove)
    if not u.clear and not change:
        return Problem("unsupported list update operation")
    if u.clear and change:
        return Problem("cannot clear and change the list at the same time")
    if u.set and (u.add or u.remove):
        return Problem("cannot set and change the list at the same time")
    if any(v == "" for v in [*u.set, *u.add, *u.remove]):
        return Problem("empty element in the list")
    return None


def apply_list_update(current: Sequence[str], u: ListUpdate) -> list[str]:
    """clear wins; else set replaces; else remove then add (no duplicates added)."""
    if u.clear:
        return []
    if u.set:
        return list(u.set)
    out = list(current)
    for v in u.remove:
        if v in out:
            out.remove(v)
    for v in u.add:
        if v not in out:
            out.append(v)
    return out


# --- List filters (also used to pick what the conflict checks look at) ---------


def inbound_matches(
    info: SIPInboundTrunkInfo, trunk_ids: Sequence[str], numbers: Sequence[str]
) -> bool:
    if trunk_ids and info.sip_trunk_id not in trunk_ids:
        return False
    if numbers and info.numbers:
        wanted = {normalize_number(n) for n in numbers}
        if not any(n in numbers or normalize_number(n) in wanted for n in info.numbers):
            return False
    return True


def outbound_matches(
    info: SIPOutboundTrunkInfo, trunk_ids: Sequence[str], numbers: Sequence[str]
) -> bool:
    """Outbound filtering compares numbers as written (no normalization), like the server."""
    if trunk_ids and info.sip_trunk_id not in trunk_ids:
        return False
    return not (numbers and info.numbers and not any(n in numbers for n in info.numbers))


def rule_matches(
    info: SIPDispatchRuleInfo, rule_ids: Sequence[str], trunk_ids: Sequence[str]
) -> bool:
    """A rule without trunk_ids applies to every trunk, so it matches any trunk filter."""
    if rule_ids and info.sip_dispatch_rule_id not in rule_ids:
        return False
    return not (trunk_ids and info.trunk_ids and not any(t in trunk_ids for t in info.trunk_ids))


# --- conflicts ----------------------------------------------------------------


def _print_id(s: str) -> str:
    return s or "<new>"


def check_inbound_conflicts(trunks: Iterable[SIPInboundTrunkInfo]) -> None:
    """`ValidateTrunksIter`: bucket by normalized called number, then by allowed number.

    Within one called-number bucket (no numbers = the "any number" bucket), two
    trunks without allowed_numbers conflict, and two trunks sharing a normalized
    allowed number conflict. Order matters only for the error text.
    """
    buckets: dict[str, dict[str, SIPInboundTrunkInfo]] = {}
    for t in trunks:
        keys = list(dict.fromkeys(normalize_number(n) for n in t.numbers)) or [""]
        for key in keys:
            _check_in_bucket(buckets.setdefault(key, {}), t)


def _check_in_bucket(by_inbound: dict[str, SIPInboundTrunkInfo], t: SIPInboundTrunkInfo) -> None:
    if not t.allowed_numbers:
        other = by_inbound.get("")
        if other is not None and other.sip_trunk_id != t.sip_trunk_id:
            raise TwirpError(
                "invalid_argument",
                f'Conflicting inbound SIP Trunks: "{_print_id(t.sip_trunk_id)}" and '
                f'"{_print_id(other.sip_trunk_id)}", using the same number(s) '
                f"{_print_numbers(t.numbers)} without AllowedNumbers set",
            )
        by_inbound[""] = t
        return
    seen: set[str] = set()
    for num in t.allowed_numbers:
        key = normalize_number(num)
        if key in seen:
            continue
        seen.add(key)
        other = by_inbound.get(key)
        if other is not None and other.sip_trunk_id != t.sip_trunk_id:
            raise TwirpError(
                "invalid_argument",
                f'Conflicting inbound SIP Trunks: "{_print_id(t.sip_trunk_id)}" and '
                f'"{_print_id(other.sip_trunk_id)}", using the same number(s) '
                f'{_print_numbers(t.numbers)} and AllowedNumber "{num}"',
            )
        by_inbound[key] = t


def _print_numbers(numbers: Sequence[str]) -> str:
    return go_quote_list(list(numbers)) if numbers else "<any>"


def rule_pin(info: SIPDispatchRuleInfo) -> str:
    """The PIN of whichever rule kind is set; invalid_argument if none is."""
    kind = info.rule.WhichOneof("rule")
    if kind is None:
        raise TwirpError("invalid_argument", "unsupported SIP Dispatch Rule: <nil>")
    return str(getattr(info.rule, kind).pin)


def check_rule_conflicts(rules: Iterable[SIPDispatchRuleInfo]) -> None:
    """`DispatchRuleValidator.Validate`: key = (PIN, trunk|any, caller|any, called|any)."""
    seen: dict[tuple[str, str, str, str], SIPDispatchRuleInfo] = {}
    for r in rules:
        pin = rule_pin(r)
        for trunk in list(r.trunk_ids) or [""]:
            for caller in list(r.inbound_numbers) or [""]:
                for called in list(r.numbers) or [""]:
                    key = (pin, trunk, normalize_number(caller), normalize_number(called))
                    other = seen.get(key)
                    if other is not None:
                        raise TwirpError(
                            "invalid_argument",
                            "Dispatch rule for the same trunk, inbound number, number, and PIN "
                            "combination already exists in dispatch rule "
                            f'"{_print_id(other.sip_dispatch_rule_id)}" '
                            f'"{other.name or "<blank name>"}"',
                        )
                    seen[key] = r
