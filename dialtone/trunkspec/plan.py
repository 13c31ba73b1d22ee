"""The difference between the files and LiveKit, as a list of typed changes.

Matching: a live object is dialtone's when its metadata carries the ownership marker
(`convert.Marker`); it is matched to a file object of the same kind by name. Objects
without the marker are listed, never changed; a file object whose name is taken by
such an object is an error unless `--adopt` asks to take it over (one update that
writes the marker). Managed objects no longer in the files are deleted only with
`--prune`.

Secrets are compared without being shown: directly when the server returns the live
value, else against the scrypt fingerprint kept in the marker (see `secrets.py`).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from livekit.protocol.sip import SIPDispatchRuleInfo, SIPInboundTrunkInfo, SIPOutboundTrunkInfo

from . import convert
from .checks import RuleRouting, TrunkRouting, check_state
from .live import LiveState
from .loader import Declared, DesiredState
from .model import DispatchRuleSpec, InboundTrunkSpec, OutboundTrunkSpec
from .problems import Location, Problem, Severity, SpecError, errors
from .secrets import MASK, env_name, masked_headers, matches


class Kind(StrEnum):
    INBOUND = "inbound_trunk"
    OUTBOUND = "outbound_trunk"
    RULE = "dispatch_rule"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
#: `--prune` deletes at most this share of the managed objects of a kind, and never all
#: of them, unless `--allow-mass-delete` is given: a truncated file looks exactly so.
MASS_DELETE_SHARE = 0.5
PASSWORD = "auth.password"
PIN = "pin"


@dataclass(frozen=True)
class FieldChange:
    """One field's old and new value; a secret's values are never held here."""

    field: str
    old: Any
    new: Any
    secret: bool = False

    def render(self, action: Action) -> str:
        if self.secret:
            if action is Action.CREATE:
                return f"{self.field}: {MASK}"
            if self.new is None:
                return f"{self.field}: (secret removed)"
            return f"{self.field}: (secret changed)"
        if action is Action.CREATE:
            return f"{self.field}: {_show(self.new)}"
        return f"{self.field}: {_show(self.old)} -> {_show(self.new)}"

    def to_json(self) -> dict[str, Any]:
        if self.secret:
            return {
                "field": self.field,
                "secret": True,
                "old": MASK if self.old is not None else None,
                "new": MASK if self.new is not None else None,
            }
        return {"field": self.field, "old": self.old, "new": self.new}


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    return json.dumps(value, ensure_ascii=False)


@dataclass
class Change:
    """One API call's worth of change. `declared`/`live` carry what apply needs."""

    action: Action
    kind: Kind
    name: str
    live_id: str | None = None
    source: str | None = None
    fields: list[FieldChange] = field(default_factory=list)
    adopt: bool = False
    declared: Declared[Any] | None = field(default=None, repr=False)
    live: convert.LiveInfo | None = field(default=None, repr=False)

    @property
    def title(self) -> str:
        return f"{self.kind.label} {self.name!r}"

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "kind": self.kind.value,
            "name": self.name,
            "id": self.live_id,
            "source": self.source,
            "adopt": self.adopt,
            "fields": [f.to_json() for f in self.fields],
        }


@dataclass(frozen=True)
class LiveObject:
    kind: Kind
    name: str
    id: str
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "name": self.name, "id": self.id, "source": self.source}


_ORDER = {
    (Action.DELETE, Kind.RULE): 0,
    (Action.DELETE, Kind.INBOUND): 1,
    (Action.DELETE, Kind.OUTBOUND): 1,
    (Action.UPDATE, Kind.INBOUND): 2,
    (Action.UPDATE, Kind.OUTBOUND): 2,
    (Action.CREATE, Kind.INBOUND): 3,
    (Action.CREATE, Kind.OUTBOUND): 3,
    (Action.UPDATE, Kind.RULE): 4,
    (Action.CREATE, Kind.RULE): 5,
}


@dataclass
class Plan:
    """What apply will do, plus what it will leave alone and why."""

    changes: list[Change] = field(default_factory=list)
    unmanaged: list[LiveObject] = field(default_factory=list)
    kept: list[LiveObject] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    trunk_ids: dict[str, str] = field(default_factory=dict)
    prune: bool = False
    refused: list[str] = field(default_factory=list)  # why apply must not run it
    adopting: dict[str, Change] = field(default_factory=dict, repr=False)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def ordered(self) -> list[Change]:
        """The safe order: what frees a number or a key runs before what claims it.

        Rules are deleted before the trunks they reference and created after them;
        updates run before creates so a number moved between objects is released first.
        """
        return sorted(
            self.changes,
            key=lambda c: (_ORDER[(c.action, c.kind)], _claims(c), c.kind.value, c.name),
        )

    def counts(self) -> dict[str, int]:
        return {a.value: sum(1 for c in self.changes if c.action is a) for a in Action}


def _claims(change: Change) -> int:
    """0 for an update that only gives numbers up, 1 when it takes new ones.

    Moving a number from trunk A to trunk B is two updates; the server would refuse B's
    while A still holds the number, so the releasing update runs first.
    """
    for item in change.fields:
        added = set(item.new) - set(item.old or []) if isinstance(item.new, list) else set()
        if item.field == "numbers" and added:
            return 1
    return 0


def compute_plan(
    state: DesiredState,
    live: LiveState,
    *,
    prune: bool = False,
    adopt: bool = False,
    allow_mass_delete: bool = False,
    agent_names: Collection[str],
    personas: Collection[str] | None,
    persona_error: str | None = None,
) -> Plan:
    """Diff `state` against `live`; raise SpecError when applying could not succeed."""
    plan = Plan(prune=prune)
    problems: list[Problem] = []
    inbound = _match(Kind.INBOUND, state.inbound, live.inbound, plan, problems, prune, adopt)
    outbound = _match(Kind.OUTBOUND, state.outbound, live.outbound, plan, problems, prune, adopt)
    rules = _match(Kind.RULE, state.rules, live.rules, plan, problems, prune, adopt)
    plan.trunk_ids = {name: info.sip_trunk_id for name, info in inbound.items()}
    id_to_name = {trunk_id: name for name, trunk_id in plan.trunk_ids.items()}

    remaining = {o.id for o in [*plan.unmanaged, *plan.kept]}
    live_trunks = [
        TrunkRouting(
            f"live inbound trunk {t.name!r} ({t.sip_trunk_id})",
            tuple(t.numbers),
            tuple(t.allowed_numbers),
        )
        for t in live.inbound
        if t.sip_trunk_id in remaining
    ]
    live_rules = [
        RuleRouting(
            f"live dispatch rule {r.name!r} ({r.sip_dispatch_rule_id})",
            convert.rule_kind(r)[3],
            tuple(f"name:{id_to_name[t]}" if t in id_to_name else f"id:{t}" for t in r.trunk_ids),
            tuple(r.numbers),
            tuple(r.inbound_numbers),
        )
        for r in live.rules
        if r.sip_dispatch_rule_id in remaining
    ]
    problems += check_state(
        state,
        agent_names=agent_names,
        personas=personas,
        persona_error=persona_error,
        live_trunks=live_trunks,
        live_rules=live_rules,
    )
    if errors(problems):
        raise SpecError(problems)
    plan.warnings = [p for p in problems if p.severity is Severity.WARNING]

    for name, trunk in state.inbound.items():
        _diff(plan, Kind.INBOUND, trunk, inbound.get(name), state)
    for name, out_trunk in state.outbound.items():
        _diff(plan, Kind.OUTBOUND, out_trunk, outbound.get(name), state)

    def trunk_name(trunk_id: str) -> str:
        return id_to_name.get(trunk_id, trunk_id)

    for name, rule in state.rules.items():
        _diff(plan, Kind.RULE, rule, rules.get(name), state, trunk_name)
    plan.warnings += _dangling_references(plan, live)
    if not allow_mass_delete:
        plan.refused = _mass_deletes(plan, live)
    return plan


def _mass_deletes(plan: Plan, live: LiveState) -> list[str]:
    """Kinds whose managed objects `--prune` would delete all of, or too many of."""
    out = []
    for kind, infos in ((Kind.INBOUND, live.inbound), (Kind.OUTBOUND, live.outbound)):
        out += _mass_delete(plan, kind, infos)
    return out + _mass_delete(plan, Kind.RULE, live.rules)


def _mass_delete(plan: Plan, kind: Kind, infos: list[Any]) -> list[str]:
    total = sum(1 for info in infos if convert.parse_marker(info.metadata))
    gone = sum(1 for c in plan.changes if c.action is Action.DELETE and c.kind is kind)
    if gone and gone == total:
        return [f"--prune would delete every managed {kind.label} ({gone} of {total})"]
    if gone > total * MASS_DELETE_SHARE:
        share = f"{MASS_DELETE_SHARE:.0%}".replace("%", " %")
        return [f"--prune would delete {gone} of {total} managed {kind.label}s (more than {share})"]
    return []


def _dangling_references(plan: Plan, live: LiveState) -> list[Problem]:
    """Rules dialtone leaves in place that name a trunk `--prune` is about to delete."""
    deleted = {c.live_id: c.name for c in plan.changes if c.action is Action.DELETE}
    kept_rules = {o.id for o in [*plan.unmanaged, *plan.kept]}
    out = []
    for rule in live.rules:
        if rule.sip_dispatch_rule_id not in kept_rules:
            continue
        for trunk_id in rule.trunk_ids:
            if trunk_id in deleted:
                out.append(
                    Problem(
                        Location("LiveKit"),
                        "",
                        f"dispatch rule {rule.name!r} ({rule.sip_dispatch_rule_id}) is not "
                        f"dialtone's and still names trunk {deleted[trunk_id]!r} ({trunk_id}), "
                        "which --prune deletes",
                        Severity.WARNING,
                    )
                )
    return out


def _live_id(info: convert.LiveInfo) -> str:
    if isinstance(info, SIPDispatchRuleInfo):
        return info.sip_dispatch_rule_id
    return info.sip_trunk_id


def _match(
    kind: Kind,
    desired: dict[str, Declared[Any]],
    live: list[Any],
    plan: Plan,
    problems: list[Problem],
    prune: bool,
    adopt: bool,
) -> dict[str, Any]:
    """Pair each file object with its live object; sort the rest into the plan's lists."""
    managed: dict[str, list[Any]] = {}
    unmanaged: dict[str, list[Any]] = {}
    for info in sorted(live, key=lambda i: (i.created_at.seconds, _live_id(i))):
        marker = convert.parse_marker(info.metadata)
        (managed if marker else unmanaged).setdefault(info.name, []).append(info)
    matched: dict[str, Any] = {}
    adopted: set[str] = set()
    for name, declared in desired.items():
        if name in managed:
            matched[name] = managed[name][0]
            continue
        others = unmanaged.get(name, [])
        if not others:
            continue
        ids = ", ".join(_live_id(i) for i in others)
        where, path = declared.where("name")
        if adopt and len(others) == 1:
            matched[name] = others[0]
            adopted.add(_live_id(others[0]))
        elif adopt:
            problems.append(
                Problem(
                    where,
                    path,
                    f"{len(others)} live {kind.label}s are named {name!r} ({ids}); "
                    "rename or delete all but one before adopting",
                )
            )
        else:
            problems.append(
                Problem(
                    where,
                    path,
                    f"a live {kind.label} named {name!r} ({ids}) was not created by dialtone; "
                    "take it over with `--adopt` (after checking `dialtone trunks export`), "
                    "or rename this one",
                )
            )
    matched_ids = {_live_id(i) for i in matched.values()}
    for name, infos in sorted(managed.items()):
        for info in infos:
            if _live_id(info) in matched_ids:
                continue
            marker = convert.parse_marker(info.metadata)
            obj = LiveObject(kind, name, _live_id(info), marker.source if marker else None)
            if prune:
                plan.changes.append(
                    Change(Action.DELETE, kind, name, obj.id, obj.source, live=info)
                )
            else:
                plan.kept.append(obj)
    for name, infos in sorted(unmanaged.items()):
        for info in infos:
            if _live_id(info) not in adopted:
                plan.unmanaged.append(LiveObject(kind, name, _live_id(info)))
    for change_name, info in matched.items():
        if _live_id(info) in adopted:
            change = Change(Action.UPDATE, kind, change_name, _live_id(info), adopt=True, live=info)
            plan.changes.append(change)
            plan.adopting[_live_id(info)] = change
    return matched


def _desired_fields(kind: Kind, declared: Declared[Any], state: DesiredState) -> convert.Fields:
    spec = declared.spec
    if kind is Kind.INBOUND:
        return convert.inbound_fields(spec, declared.source)
    if kind is Kind.OUTBOUND:
        return convert.outbound_fields(spec, declared.source, headers=state.headers(spec.headers))
    assert isinstance(spec, DispatchRuleSpec)
    return convert.rule_fields(spec, list(spec.trunks), declared.source)


def _live_fields(
    kind: Kind, info: convert.LiveInfo, trunk_name: Callable[[str], str] | None
) -> convert.Fields:
    if isinstance(info, SIPInboundTrunkInfo):
        return convert.live_inbound_fields(info)
    if isinstance(info, SIPOutboundTrunkInfo):
        return convert.live_outbound_fields(info)
    assert trunk_name is not None
    return convert.live_rule_fields(info, trunk_name)


def _diff(
    plan: Plan,
    kind: Kind,
    declared: Declared[Any],
    info: convert.LiveInfo | None,
    state: DesiredState,
    trunk_name: Callable[[str], str] | None = None,
) -> None:
    spec = declared.spec
    wanted = _desired_fields(kind, declared, state)
    secrets = _desired_secrets(spec, state)
    if info is None:
        fields = [
            _field_change(key, None, value, spec)
            for key, value in wanted.items()
            if value not in (None, "", [], {}, False) and key != "source"
        ]
        fields += [FieldChange(key, None, MASK, secret=True) for key in secrets if secrets[key]]
        plan.changes.append(
            Change(Action.CREATE, kind, spec.name, None, declared.source, fields, declared=declared)
        )
        return
    have = _live_fields(kind, info, trunk_name)
    fields = [
        _field_change(key, have.get(key), value, spec)
        for key, value in wanted.items()
        if have.get(key) != value
    ]
    fields += _secret_changes(info, secrets)
    existing = plan.adopting.get(_live_id(info))
    if existing is not None:
        existing.fields = fields
        existing.source = declared.source
        existing.declared = declared
        return
    if fields:
        plan.changes.append(
            Change(
                Action.UPDATE,
                kind,
                spec.name,
                _live_id(info),
                declared.source,
                fields,
                declared=declared,
                live=info,
            )
        )


def _field_change(key: str, old: Any, new: Any, spec: Any) -> FieldChange:
    """A field change for display: header values that are secrets are masked here."""
    if key == "headers" and isinstance(spec, OutboundTrunkSpec):
        refs = {name for name, value in spec.headers.items() if env_name(value)}
        shown_old, shown_new = masked_headers(old or {}, new, refs)
        return FieldChange(key, None if old is None else shown_old, shown_new)
    return FieldChange(key, old, new)


def _desired_secrets(spec: Any, state: DesiredState) -> dict[str, str | None]:
    if isinstance(spec, InboundTrunkSpec | OutboundTrunkSpec):
        secret = state.secret(spec.auth.password) if spec.auth else None
        return {PASSWORD: secret.reveal() if secret else None}
    assert isinstance(spec, DispatchRuleSpec)
    return {PIN: state.pin(spec.pin) or None}


def _secret_changes(info: convert.LiveInfo, wanted: dict[str, str | None]) -> list[FieldChange]:
    marker = convert.parse_marker(info.metadata)
    fingerprints = marker.secrets if marker else {}
    out = []
    for key, value in wanted.items():
        if isinstance(info, SIPDispatchRuleInfo):
            current = convert.rule_kind(info)[3]
            fingerprint = None  # PINs are returned by List; short PINs must not be hashed
        else:
            current = info.auth_password
            fingerprint = fingerprints.get(key)
        if value is None:
            if current or fingerprint:
                out.append(FieldChange(key, MASK, None, secret=True))
            continue
        if current:
            if not hmac.compare_digest(current.encode(), value.encode()):
                out.append(FieldChange(key, MASK, MASK, secret=True))
        elif not (fingerprint and matches(value, fingerprint)):
            out.append(FieldChange(key, MASK if fingerprint else None, MASK, secret=True))
    return out


# --- rendering ------------------------------------------------------------------------


def render_text(plan: Plan, *, target: str = "") -> str:
    """The plan for people: one block per change, in the order apply runs them."""
    lines: list[str] = []
    if target:
        lines.append(f"Plan against {target}")
        lines.append("")
    for change in plan.ordered():
        head = f"  {SYMBOL[change.action]} {change.title}"
        if change.live_id:
            head += f"  {change.live_id}"
        if change.source:
            head += f"  ({change.source})"
        if change.adopt:
            head += "  [adopt: dialtone takes it over]"
        lines.append(head)
        for item in change.fields:
            lines.append(f"      {item.render(change.action)}")
    if plan.changes:
        lines.append("")
    if plan.unmanaged:
        lines.append("Not managed by dialtone (listed, never touched):")
        lines += [f"    {o.kind.label} {o.name!r}  {o.id}" for o in plan.unmanaged]
        lines.append("")
    if plan.kept:
        lines.append("Managed by dialtone but no longer in the files (kept; --prune deletes them):")
        lines += [f"    {o.kind.label} {o.name!r}  {o.id}" for o in plan.kept]
        lines.append("")
    for warning in plan.warnings:
        lines.append(str(warning))
    if plan.warnings:
        lines.append("")
    counts = plan.counts()
    lines += [f"Refused: {reason}." for reason in plan.refused]
    if plan.has_changes:
        lines.append(
            f"Plan: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['delete']} to delete."
            + (" Refused: apply needs --allow-mass-delete." if plan.refused else "")
        )
    else:
        lines.append("No changes: LiveKit matches the files.")
    return "\n".join(lines)


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "changes": [c.to_json() for c in plan.ordered()],
        "unmanaged": [o.to_json() for o in plan.unmanaged],
        "kept": [o.to_json() for o in plan.kept],
        "warnings": [problem_json(p) for p in plan.warnings],
        "refused": plan.refused,
        "summary": plan.counts(),
    }


def problem_json(problem: Problem) -> dict[str, Any]:
    loc: Location = problem.location
    return {
        "severity": problem.severity.value,
        "file": loc.file,
        "line": loc.line or None,
        "column": loc.column or None,
        "path": problem.path,
        "message": problem.message,
    }
