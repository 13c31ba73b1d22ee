"""Between the YAML models and LiveKit's protobuf messages, in both directions.

Two views of every object exist here:
- the *request* (`build_*`): the full protobuf sent to Create or Update. For an update it
  starts from the live object, so fields dialtone does not manage (codecs, realm,
  room presets...) survive an apply instead of being silently reset;
- the *fields* (`*_fields`): a flat dict of the managed, non-secret fields, written the
  same way for a model and for a live object, so that `plan` can compare them with `==`.
  Secrets are compared in `plan` without entering these dicts.

The ownership marker lives in each object's `metadata` as JSON:
`{"managed-by": "dialtone", "source": "carrier.yaml", "secrets": {...}}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.duration_pb2 import Duration
from livekit.protocol.agent_dispatch import RoomAgentDispatch
from livekit.protocol.sip import (
    SIPDispatchRuleCallee,
    SIPDispatchRuleDirect,
    SIPDispatchRuleIndividual,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPMediaEncryption,
    SIPOutboundTrunkInfo,
    SIPTransport,
)

from ..wire import InboundJob
from .model import DispatchRuleSpec, InboundTrunkSpec, OutboundTrunkSpec

MARKER_KEY = "managed-by"
MARKER_VALUE = "dialtone"

ENCRYPTION: dict[str, SIPMediaEncryption] = {
    "disable": SIPMediaEncryption.SIP_MEDIA_ENCRYPT_DISABLE,
    "allow": SIPMediaEncryption.SIP_MEDIA_ENCRYPT_ALLOW,
    "require": SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE,
}
ENCRYPTION_NAME = {v: k for k, v in ENCRYPTION.items()}
TRANSPORT: dict[str, SIPTransport] = {
    "auto": SIPTransport.SIP_TRANSPORT_AUTO,
    "udp": SIPTransport.SIP_TRANSPORT_UDP,
    "tcp": SIPTransport.SIP_TRANSPORT_TCP,
    "tls": SIPTransport.SIP_TRANSPORT_TLS,
}
TRANSPORT_NAME = {v: k for k, v in TRANSPORT.items()}

Fields = dict[str, Any]
LiveInfo = SIPInboundTrunkInfo | SIPOutboundTrunkInfo | SIPDispatchRuleInfo


@dataclass(frozen=True)
class Marker:
    """The ownership marker: which file declared the object, and secret fingerprints."""

    source: str
    secrets: dict[str, str] = field(default_factory=dict)

    def to_metadata(self) -> str:
        data: dict[str, Any] = {MARKER_KEY: MARKER_VALUE, "source": self.source}
        if self.secrets:
            data["secrets"] = dict(sorted(self.secrets.items()))
        return json.dumps(data, separators=(",", ":"), sort_keys=True)


def parse_marker(metadata: str) -> Marker | None:
    """The marker in `metadata`, or None when dialtone does not manage the object."""
    if not metadata.startswith("{"):
        return None
    try:
        data = json.loads(metadata)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get(MARKER_KEY) != MARKER_VALUE:
        return None
    secrets = data.get("secrets")
    clean = (
        {str(k): str(v) for k, v in secrets.items() if isinstance(v, str)}
        if isinstance(secrets, dict)
        else {}
    )
    return Marker(str(data.get("source", "")), clean)


def _encryption(info: LiveInfo) -> str:
    # The server copies media_encryption into media.encryption ("Upgrade"); the latter wins.
    value = info.media_encryption
    if info.HasField("media") and info.media.HasField("encryption"):
        value = info.media.encryption
    return ENCRYPTION_NAME.get(value, str(value))


def _seconds(info: SIPInboundTrunkInfo, name: str) -> int | None:
    if not info.HasField(name):  # type: ignore[arg-type]
        return None
    duration: Duration = getattr(info, name)
    return duration.seconds or None


def duration_text(seconds: int | None) -> str | None:
    """Durations as written in the files ("30s"), for plans and exports."""
    return f"{seconds}s" if seconds else None


def _set_encryption(info: LiveInfo, name: str) -> None:
    value = ENCRYPTION[name]
    info.media_encryption = value
    if info.HasField("media"):
        if value == SIPMediaEncryption.SIP_MEDIA_ENCRYPT_DISABLE:
            info.media.ClearField("encryption")
        else:
            info.media.encryption = value


def _set_list(target: Any, values: list[str]) -> None:
    del target[:]
    target.extend(values)


def _set_map(target: Any, values: Mapping[str, str]) -> None:
    target.clear()
    target.update(values)


def _source(info: LiveInfo) -> str | None:
    marker = parse_marker(info.metadata)
    return marker.source if marker else None


# --- inbound trunks -------------------------------------------------------------------


def inbound_fields(spec: InboundTrunkSpec, source: str | None) -> Fields:
    return {
        "numbers": sorted(spec.numbers),
        "allowed_addresses": sorted(spec.allowed_addresses),
        "allowed_numbers": sorted(spec.allowed_numbers),
        "auth.username": spec.auth.username if spec.auth else "",
        "media_encryption": spec.media_encryption,
        "krisp": spec.krisp,
        "headers_to_attributes": dict(sorted(spec.headers_to_attributes.items())),
        "ringing_timeout": duration_text(spec.ringing_timeout),
        "max_call_duration": duration_text(spec.max_call_duration),
        "source": source,
    }


def live_inbound_fields(info: SIPInboundTrunkInfo) -> Fields:
    return {
        "numbers": sorted(info.numbers),
        "allowed_addresses": sorted(info.allowed_addresses),
        "allowed_numbers": sorted(info.allowed_numbers),
        "auth.username": info.auth_username,
        "media_encryption": _encryption(info),
        "krisp": info.krisp_enabled,
        "headers_to_attributes": dict(sorted(info.headers_to_attributes.items())),
        "ringing_timeout": duration_text(_seconds(info, "ringing_timeout")),
        "max_call_duration": duration_text(_seconds(info, "max_call_duration")),
        "source": _source(info),
    }


def build_inbound(
    spec: InboundTrunkSpec,
    *,
    password: str,
    metadata: str,
    base: SIPInboundTrunkInfo | None = None,
) -> SIPInboundTrunkInfo:
    info = SIPInboundTrunkInfo()
    if base is not None:
        info.CopyFrom(base)
    info.name = spec.name
    info.metadata = metadata
    _set_list(info.numbers, spec.numbers)
    _set_list(info.allowed_addresses, spec.allowed_addresses)
    _set_list(info.allowed_numbers, spec.allowed_numbers)
    info.auth_username = spec.auth.username if spec.auth else ""
    info.auth_password = password if spec.auth else ""
    _set_encryption(info, spec.media_encryption)
    info.krisp_enabled = spec.krisp
    _set_map(info.headers_to_attributes, spec.headers_to_attributes)
    for name in ("ringing_timeout", "max_call_duration"):
        seconds = getattr(spec, name)
        if seconds is None:
            info.ClearField(name)  # type: ignore[arg-type]
        else:
            getattr(info, name).CopyFrom(Duration(seconds=seconds))
    return info


# --- outbound trunks ------------------------------------------------------------------


def outbound_fields(
    spec: OutboundTrunkSpec, source: str | None, *, headers: Mapping[str, str]
) -> Fields:
    """`headers` as sent (`${VAR}` values resolved): compared with the live ones."""
    return {
        "address": spec.address,
        "transport": spec.transport,
        "numbers": sorted(spec.numbers),
        "auth.username": spec.auth.username if spec.auth else "",
        "headers": dict(sorted(headers.items())),
        "media_encryption": spec.media_encryption,
        "source": source,
    }


def live_outbound_fields(info: SIPOutboundTrunkInfo) -> Fields:
    return {
        "address": info.address,
        "transport": TRANSPORT_NAME.get(info.transport, str(info.transport)),
        "numbers": sorted(info.numbers),
        "auth.username": info.auth_username,
        "headers": dict(sorted(info.headers.items())),
        "media_encryption": _encryption(info),
        "source": _source(info),
    }


def build_outbound(
    spec: OutboundTrunkSpec,
    *,
    password: str,
    headers: Mapping[str, str],
    metadata: str,
    base: SIPOutboundTrunkInfo | None = None,
) -> SIPOutboundTrunkInfo:
    info = SIPOutboundTrunkInfo()
    if base is not None:
        info.CopyFrom(base)
    info.name = spec.name
    info.metadata = metadata
    info.address = spec.address
    info.transport = TRANSPORT[spec.transport]
    _set_list(info.numbers, spec.numbers)
    info.auth_username = spec.auth.username if spec.auth else ""
    info.auth_password = password if spec.auth else ""
    _set_map(info.headers, headers)
    _set_encryption(info, spec.media_encryption)
    return info


# --- dispatch rules -------------------------------------------------------------------


def rule_fields(spec: DispatchRuleSpec, trunks: list[str], source: str | None) -> Fields:
    """`trunks` is what the rule's trunks display as (names of matched trunks)."""
    return {
        "trunks": sorted(trunks),
        "numbers": sorted(spec.numbers),
        "callers": sorted(spec.callers),
        "kind": spec.kind,
        "room_prefix": None if spec.kind == "direct" else spec.effective_room_prefix,
        "room": spec.room if spec.kind == "direct" else None,
        "agent": spec.agent,
        "persona": spec.persona,
        "attributes": dict(sorted(spec.attributes.items())),
        "hide_phone_number": spec.hide_phone_number,
        "source": source,
    }


def rule_kind(info: SIPDispatchRuleInfo) -> tuple[str, str | None, str | None, str]:
    """(kind, room_prefix, room, pin) of a live rule."""
    which = info.rule.WhichOneof("rule")
    if which == "dispatch_rule_direct":
        direct = info.rule.dispatch_rule_direct
        return "direct", None, direct.room_name, direct.pin
    if which == "dispatch_rule_callee":
        callee = info.rule.dispatch_rule_callee
        return "callee", callee.room_prefix, None, callee.pin
    if which == "dispatch_rule_individual":
        individual = info.rule.dispatch_rule_individual
        return "individual", individual.room_prefix, None, individual.pin
    return "none", None, None, ""


def live_rule_fields(info: SIPDispatchRuleInfo, trunk_name: Callable[[str], str]) -> Fields:
    kind, prefix, room, _pin = rule_kind(info)
    agents = list(info.room_config.agents) if info.HasField("room_config") else []
    names = ", ".join(a.agent_name for a in agents) or None
    personas = [InboundJob.from_metadata(a.metadata).persona for a in agents]
    persona = personas[0] if len(personas) == 1 else (", ".join(map(str, personas)) or None)
    return {
        "trunks": sorted(trunk_name(t) for t in info.trunk_ids),
        "numbers": sorted(info.numbers),
        "callers": sorted(info.inbound_numbers),
        "kind": kind,
        "room_prefix": prefix,
        "room": room,
        "agent": names,
        "persona": persona,
        "attributes": dict(sorted(info.attributes.items())),
        "hide_phone_number": info.hide_phone_number,
        "source": _source(info),
    }


def build_rule(
    spec: DispatchRuleSpec,
    *,
    trunk_ids: list[str],
    pin: str,
    metadata: str,
    base: SIPDispatchRuleInfo | None = None,
) -> SIPDispatchRuleInfo:
    info = SIPDispatchRuleInfo()
    if base is not None:
        info.CopyFrom(base)
    info.name = spec.name
    info.metadata = metadata
    same_kind = base is not None and rule_kind(base)[0] == spec.kind
    # Keep flags dialtone does not manage (no_randomness, randomize) when the kind stays.
    if spec.kind == "direct":
        direct = info.rule.dispatch_rule_direct if same_kind else SIPDispatchRuleDirect()
        direct.room_name = spec.room or ""
        direct.pin = pin
        if not same_kind:
            info.rule.dispatch_rule_direct.CopyFrom(direct)
    elif spec.kind == "callee":
        callee = info.rule.dispatch_rule_callee if same_kind else SIPDispatchRuleCallee()
        callee.room_prefix = spec.effective_room_prefix
        callee.pin = pin
        if not same_kind:
            info.rule.dispatch_rule_callee.CopyFrom(callee)
    else:
        individual = (
            info.rule.dispatch_rule_individual if same_kind else SIPDispatchRuleIndividual()
        )
        individual.room_prefix = spec.effective_room_prefix
        individual.pin = pin
        if not same_kind:
            info.rule.dispatch_rule_individual.CopyFrom(individual)
    _set_list(info.trunk_ids, trunk_ids)
    _set_list(info.numbers, spec.numbers)
    _set_list(info.inbound_numbers, spec.callers)
    _set_map(info.attributes, spec.attributes)
    info.hide_phone_number = spec.hide_phone_number
    del info.room_config.agents[:]
    info.room_config.agents.append(
        RoomAgentDispatch(
            agent_name=spec.agent, metadata=InboundJob(persona=spec.persona).to_metadata()
        )
    )
    return info
