"""Writing the live configuration as dialtone YAML (to adopt it) or as `lk` JSON files.

Secrets never leave as values: every password or PIN becomes a `${VAR}` placeholder with
a name derived from the object, and the caller is told which variables to set. Live
settings the YAML format does not describe (codecs, realm, room presets...) are listed
as notes; an adopted object keeps them, because updates start from the live object.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPOutboundTrunkInfo,
)

from ..wire import InboundJob
from . import convert
from .live import LiveState
from .secrets import is_secret_header


@dataclass
class Export:
    """The YAML document, the env vars it references, and what it could not express."""

    document: dict[str, list[dict[str, Any]]]
    env_vars: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        header = (
            "# Exported from LiveKit by `dialtone trunks export`.\n"
            "# Secrets are ${VAR} placeholders: set those variables before validate/apply.\n"
        )
        return header + yaml.safe_dump(
            self.document, sort_keys=False, allow_unicode=True, default_flow_style=False
        )


def env_var_for(kind: str, name: str, what: str) -> str:
    """`("outbound", "Carrier out", "password")` -> `DIALTONE_OUTBOUND_CARRIER_OUT_PASSWORD`."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "UNNAMED"
    part = re.sub(r"[^A-Za-z0-9]+", "_", what).strip("_").upper()
    return f"DIALTONE_{kind.upper()}_{slug}_{part}"


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, [], {}, "") and v is not False}


def export_yaml(live: LiveState) -> Export:
    out = Export({"inbound_trunks": [], "outbound_trunks": [], "dispatch_rules": []})
    names = {t.sip_trunk_id: t.name for t in live.inbound}
    for trunk in sorted(live.inbound, key=lambda t: t.name):
        out.document["inbound_trunks"].append(_inbound(trunk, out))
    for outbound in sorted(live.outbound, key=lambda t: t.name):
        out.document["outbound_trunks"].append(_outbound(outbound, out))
    for rule in sorted(live.rules, key=lambda r: r.name):
        out.document["dispatch_rules"].append(_rule(rule, names, out))
    out.document = {k: v for k, v in out.document.items() if v}
    return out


def _auth(kind: str, name: str, username: str, password: str, out: Export) -> dict[str, str] | None:
    if not username and not password:
        return None
    var = env_var_for(kind, name, "password")
    out.env_vars.append(var)
    return {"username": username, "password": "${" + var + "}"}


def _inbound(info: SIPInboundTrunkInfo, out: Export) -> dict[str, Any]:
    fields = convert.live_inbound_fields(info)
    data = _drop_empty(
        {
            "name": info.name,
            "numbers": list(info.numbers),
            "allowed_addresses": list(info.allowed_addresses),
            "allowed_numbers": list(info.allowed_numbers),
            "auth": _auth("inbound", info.name, info.auth_username, info.auth_password, out),
            "media_encryption": fields["media_encryption"]
            if fields["media_encryption"] != "disable"
            else None,
            "krisp": info.krisp_enabled,
            "headers_to_attributes": dict(info.headers_to_attributes),
            "ringing_timeout": fields["ringing_timeout"],
            "max_call_duration": fields["max_call_duration"],
        }
    )
    _note_unexpressed(
        out,
        f"inbound trunk {info.name!r}",
        info,
        ["auth_realm", "headers", "attributes_to_headers", "include_headers"],
    )
    _note_codecs(out, f"inbound trunk {info.name!r}", info)
    return data


def _outbound(info: SIPOutboundTrunkInfo, out: Export) -> dict[str, Any]:
    fields = convert.live_outbound_fields(info)
    data = _drop_empty(
        {
            "name": info.name,
            "address": info.address,
            "transport": fields["transport"],
            "numbers": list(info.numbers),
            "auth": _auth("outbound", info.name, info.auth_username, info.auth_password, out),
            "headers": _headers(info, out.env_vars),
            "media_encryption": fields["media_encryption"]
            if fields["media_encryption"] != "disable"
            else None,
        }
    )
    _note_unexpressed(
        out,
        f"outbound trunk {info.name!r}",
        info,
        [
            "destination_country",
            "from_host",
            "headers_to_attributes",
            "attributes_to_headers",
            "include_headers",
        ],
    )
    _note_codecs(out, f"outbound trunk {info.name!r}", info)
    return data


def _headers(info: SIPOutboundTrunkInfo, env_vars: list[str]) -> dict[str, str]:
    """The trunk's headers, those named like credentials as `${VAR}` placeholders."""
    headers = {}
    for name, value in sorted(info.headers.items()):
        if is_secret_header(name):
            var = env_var_for("outbound", info.name, f"header_{name}")
            env_vars.append(var)
            value = "${" + var + "}"
        headers[name] = value
    return headers


def _rule(info: SIPDispatchRuleInfo, trunk_names: dict[str, str], out: Export) -> dict[str, Any]:
    kind, prefix, room, pin = convert.rule_kind(info)
    label = f"dispatch rule {info.name!r}"
    pin_ref = None
    if pin:
        var = env_var_for("rule", info.name, "pin")
        out.env_vars.append(var)
        pin_ref = "${" + var + "}"
    agents = list(info.room_config.agents) if info.HasField("room_config") else []
    agent = agents[0].agent_name if len(agents) == 1 else None
    persona = InboundJob.from_metadata(agents[0].metadata).persona if len(agents) == 1 else None
    if len(agents) != 1:
        out.notes.append(
            f"{label}: dispatches {len(agents)} agents; dialtone YAML names exactly one "
            "(set `agent`)"
        )
    unknown = [t for t in info.trunk_ids if t not in trunk_names]
    if unknown:
        out.notes.append(f"{label}: references unknown trunk ids {', '.join(unknown)}")
    data = _drop_empty(
        {
            "name": info.name,
            "trunks": [trunk_names.get(t, t) for t in info.trunk_ids],
            "numbers": list(info.numbers),
            "callers": list(info.inbound_numbers),
            "kind": kind,
            "room_prefix": prefix if kind != "direct" else None,
            "room": room,
            "pin": pin_ref,
            "agent": agent,
            "persona": persona,
            "attributes": dict(info.attributes),
            "hide_phone_number": info.hide_phone_number,
        }
    )
    if kind in ("individual", "callee") and prefix == "":
        data["room_prefix"] = ""
    if kind == "none":
        out.notes.append(f"{label}: has no rule kind; set `kind`")
        data.pop("kind")
    extra = []
    if info.room_preset:
        extra.append("room_preset")
    if info.krisp_enabled:
        extra.append("krisp_enabled")
    if info.media_encryption or (info.HasField("media") and info.media.HasField("encryption")):
        extra.append("media_encryption")
    if kind == "individual" and info.rule.dispatch_rule_individual.no_randomness:
        extra.append("no_randomness")
    if kind == "callee" and info.rule.dispatch_rule_callee.randomize:
        extra.append("randomize")
    if extra:
        out.notes.append(f"{label}: {', '.join(extra)} not in dialtone YAML; kept as is on update")
    return data


def _note_unexpressed(out: Export, label: str, info: Message, names: list[str]) -> None:
    present = []
    for name in names:
        value = getattr(info, name)
        if value if not hasattr(value, "__len__") else len(value):
            present.append(name)
    if present:
        out.notes.append(
            f"{label}: {', '.join(present)} not in dialtone YAML; kept as is on update"
        )


def _note_codecs(out: Export, label: str, info: SIPInboundTrunkInfo | SIPOutboundTrunkInfo) -> None:
    if info.HasField("media") and (info.media.codecs or info.media.HasField("media_timeout")):
        out.notes.append(
            f"{label}: media codecs/timeout not in dialtone YAML; kept as is on update"
        )


# --- lk JSON --------------------------------------------------------------------------


def _strip(info: Any, password_var: str | None) -> None:
    for name in ("created_at", "updated_at"):
        if info.HasField(name):
            info.ClearField(name)
    if convert.parse_marker(info.metadata) is not None:
        info.metadata = ""
    if password_var is not None:
        info.auth_password = "${" + password_var + "}"


def _set_headers(info: SIPOutboundTrunkInfo, headers: dict[str, str]) -> None:
    info.headers.clear()
    info.headers.update(headers)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-").lower() or "unnamed"


def write_lk_json(live: LiveState, directory: Path) -> tuple[list[Path], list[str]]:
    """One `lk sip … create FILE` request per object; returns the files and the env vars.

    `lk` reads these with protojson. Passwords and PINs are `${VAR}` placeholders: pipe
    a file through `envsubst` into `lk sip inbound create -` rather than storing it filled.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    env_vars: list[str] = []

    def dump(filename: str, message: Message) -> None:
        path = directory / filename
        n = 2
        while path in written:  # two objects whose names slug alike
            path = directory / filename.replace(".json", f"-{n}.json")
            n += 1
        data = MessageToDict(message, preserving_proto_field_name=True)
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)

    for trunk in live.inbound:
        inbound = SIPInboundTrunkInfo()
        inbound.CopyFrom(trunk)
        inbound.sip_trunk_id = ""
        var = None
        if trunk.auth_username or trunk.auth_password:
            var = env_var_for("inbound", trunk.name, "password")
            env_vars.append(var)
        _strip(inbound, var)
        dump(f"inbound-{_slug(trunk.name)}.json", CreateSIPInboundTrunkRequest(trunk=inbound))
    for trunk_out in live.outbound:
        outbound = SIPOutboundTrunkInfo()
        outbound.CopyFrom(trunk_out)
        outbound.sip_trunk_id = ""
        var = None
        if trunk_out.auth_username or trunk_out.auth_password:
            var = env_var_for("outbound", trunk_out.name, "password")
            env_vars.append(var)
        _strip(outbound, var)
        _set_headers(outbound, _headers(trunk_out, env_vars))
        dump(
            f"outbound-{_slug(trunk_out.name)}.json", CreateSIPOutboundTrunkRequest(trunk=outbound)
        )
    for rule in live.rules:
        copy = SIPDispatchRuleInfo()
        copy.CopyFrom(rule)
        copy.sip_dispatch_rule_id = ""
        for name in ("created_at", "updated_at"):
            if copy.HasField(name):
                copy.ClearField(name)  # type: ignore[arg-type]
        if convert.parse_marker(copy.metadata) is not None:
            copy.metadata = ""
        kind, _prefix, _room, pin = convert.rule_kind(copy)
        if pin:
            var = env_var_for("rule", rule.name, "pin")
            env_vars.append(var)
            getattr(copy.rule, f"dispatch_rule_{kind}").pin = "${" + var + "}"
        dump(f"rule-{_slug(rule.name)}.json", CreateSIPDispatchRuleRequest(dispatch_rule=copy))
    return written, env_vars
