"""Routing checks: the conflicts LiveKit would refuse, and mistakes it would accept.

The server checks every Create and Update against *all* stored objects
(livekit/protocol `sip/sip.go`: `ValidateTrunksIter`, `DispatchRuleValidator`) and
refuses a conflict with `invalid_argument`. Finding the same conflict before `apply`
means no half-applied change: the checks below mirror those rules exactly, including
number normalization. `plan` adds the live objects dialtone will leave in place, since
the server compares against them too.

Our own checks catch what the server accepts but callers would suffer: a rule that
dispatches an agent no worker serves, or a persona nobody wrote (errors), a DID no trunk
receives, or SIP over UDP across the internet (warnings).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .loader import DesiredState
from .problems import Location, Problem, Severity

_NUMBER_LIKE = re.compile(r"^\+?[0-9\- ()]+$")  # Go's \d: ASCII only
_PRIVATE_SUFFIXES = (".local", ".internal", ".lan", ".home.arpa", ".localdomain")


def normalize_number(number: str) -> str:
    """LiveKit's NormalizeNumber: "1 (555) 000-1" -> "+15550001"; other text unchanged."""
    if not number or not _NUMBER_LIKE.match(number):
        return number
    digits = number.translate(str.maketrans("", "", " -()"))
    return digits if digits.startswith("+") else "+" + digits


@dataclass(frozen=True)
class TrunkRouting:
    """What the server's inbound-trunk conflict check looks at."""

    label: str
    numbers: tuple[str, ...]
    allowed_numbers: tuple[str, ...]
    location: Location | None = None  # None: a live object, not in the files
    path: str = ""


@dataclass(frozen=True)
class RuleRouting:
    """What the server's dispatch-rule conflict check looks at; trunks as stable keys."""

    label: str
    pin: str
    trunks: tuple[str, ...]
    numbers: tuple[str, ...]
    callers: tuple[str, ...]
    location: Location | None = None
    path: str = ""


def desired_trunk_routing(state: DesiredState) -> list[TrunkRouting]:
    out = []
    for name, declared in state.inbound.items():
        spec = declared.spec
        out.append(
            TrunkRouting(
                f"inbound trunk {name!r}",
                tuple(spec.numbers),
                tuple(spec.allowed_numbers),
                declared.location,
                declared.path,
            )
        )
    return out


def desired_rule_routing(state: DesiredState) -> list[RuleRouting]:
    out = []
    for name, declared in state.rules.items():
        spec = declared.spec
        out.append(
            RuleRouting(
                f"dispatch rule {name!r}",
                state.pin(spec.pin),
                tuple(f"name:{t}" for t in spec.trunks),
                tuple(spec.numbers),
                tuple(spec.callers),
                declared.location,
                declared.path,
            )
        )
    return out


def trunk_conflicts(trunks: Iterable[TrunkRouting]) -> list[Problem]:
    """Inbound trunks that would match the same call (server: "Conflicting inbound SIP Trunks").

    Trunks are bucketed by each normalized called number (no numbers: the "any number"
    bucket). Inside a bucket two trunks conflict when neither restricts callers, or when
    both allow the same normalized caller number.
    """
    problems: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    buckets: dict[str, dict[str, TrunkRouting]] = {}
    for trunk in trunks:
        keys = {normalize_number(n) for n in trunk.numbers} or {""}
        for key in sorted(keys):
            by_caller = buckets.setdefault(key, {})
            callers = {normalize_number(n) for n in trunk.allowed_numbers} or {""}
            for caller in sorted(callers):
                other = by_caller.get(caller)
                if other is not None and other is not trunk:
                    pair = (other.label, trunk.label)
                    if pair not in reported:
                        reported.add(pair)
                        problems.extend(_conflict(trunk, other, _trunk_reason(key, caller)))
                    continue
                by_caller[caller] = trunk
    return problems


def _trunk_reason(number: str, caller: str) -> str:
    called = f"number {number}" if number else "any number (no `numbers`)"
    who = f"caller {caller}" if caller else "any caller (no `allowed_numbers`)"
    return f"both accept calls to {called} from {who}; LiveKit refuses conflicting inbound trunks"


def rule_conflicts(rules: Iterable[RuleRouting]) -> list[Problem]:
    """Rules with the same (PIN, trunk, called number, caller number) key.

    Empty lists stand for "any" and collide only with other "any" entries, exactly as the
    server's DispatchRuleValidator does.
    """
    problems: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    seen: dict[tuple[str, str, str, str], RuleRouting] = {}
    for rule in rules:
        for trunk in rule.trunks or ("",):
            for number in rule.numbers or ("",):
                for caller in rule.callers or ("",):
                    key = (rule.pin, trunk, normalize_number(number), normalize_number(caller))
                    other = seen.get(key)
                    if other is not None:
                        pair = (other.label, rule.label)
                        if pair not in reported:
                            reported.add(pair)
                            problems.extend(_conflict(rule, other, _rule_reason(key)))
                        continue
                    seen[key] = rule
    return problems


def _rule_reason(key: tuple[str, str, str, str]) -> str:
    pin, trunk, number, caller = key
    parts = [
        f"trunk {trunk.removeprefix('name:').removeprefix('id:')}" if trunk else "any trunk",
        f"number {number}" if number else "any number",
        f"caller {caller}" if caller else "any caller",
        "the same PIN" if pin else "no PIN",
    ]
    return (
        f"both match {', '.join(parts)}; LiveKit refuses two dispatch rules for the same "
        "trunk, number, caller and PIN"
    )


def _conflict(
    new: TrunkRouting | RuleRouting, old: TrunkRouting | RuleRouting, reason: str
) -> list[Problem]:
    if new.location is None and old.location is None:
        return []  # both live and not ours: the server already holds them
    if new.location is None:
        new, old = old, new
    assert new.location is not None
    where = f" ({old.location}: {old.path})" if old.location else " (live, not in the files)"
    return [Problem(new.location, new.path, f"conflicts with {old.label}{where}: {reason}")]


def reference_problems(state: DesiredState) -> list[Problem]:
    """Dispatch rules naming trunks the files do not declare."""
    problems = []
    for rule in state.rules.values():
        for index, trunk in enumerate(rule.spec.trunks):
            if trunk in state.inbound:
                continue
            where, path = rule.where("trunks", index)
            if trunk in state.outbound:
                message = (
                    f"{trunk!r} is an outbound trunk; dispatch rules route inbound calls, "
                    "name an inbound trunk"
                )
            else:
                known = ", ".join(sorted(state.inbound)) or "none"
                message = f"unknown inbound trunk {trunk!r} (declared: {known})"
            problems.append(Problem(where, path, message))
    return problems


def dispatch_problems(
    state: DesiredState,
    *,
    agent_names: Collection[str],
    personas: Collection[str] | None,
    persona_error: str | None = None,
) -> list[Problem]:
    """Rules that would ring an agent nobody runs, or ask for a persona nobody wrote."""
    problems = []
    for rule in state.rules.values():
        spec = rule.spec
        if spec.agent not in agent_names:
            where, path = rule.where("agent")
            known = ", ".join(sorted(agent_names))
            problems.append(
                Problem(
                    where,
                    path,
                    f"no dialtone worker registers agent {spec.agent!r} (known: {known}); "
                    "calls would wait in an empty room",
                )
            )
        if spec.persona is not None:
            where, path = rule.where("persona")
            if personas is None:
                problems.append(
                    Problem(where, path, f"cannot check persona: {persona_error or 'no personas'}")
                )
            elif spec.persona not in personas:
                known = ", ".join(sorted(personas)) or "none"
                problems.append(
                    Problem(where, path, f"unknown persona {spec.persona!r} (known: {known})")
                )
    return problems


def ownership_problems(
    state: DesiredState, live_trunks: Iterable[TrunkRouting] = ()
) -> list[Problem]:
    """Rule numbers that no inbound trunk (named by the rule, or any) would receive."""
    extra = list(live_trunks)
    problems = []
    for rule in state.rules.values():
        spec = rule.spec
        if spec.trunks:
            candidates = [state.inbound[t].spec.numbers for t in spec.trunks if t in state.inbound]
        else:
            candidates = [d.spec.numbers for d in state.inbound.values()]
            candidates += [list(t.numbers) for t in extra]
        if any(not numbers for numbers in candidates):
            continue  # a trunk without `numbers` receives every number
        owned = {normalize_number(n) for numbers in candidates for n in numbers}
        for index, number in enumerate(spec.numbers):
            if normalize_number(number) not in owned:
                where, path = rule.where("numbers", index)
                scope = "the rule's trunks" if spec.trunks else "any inbound trunk"
                problems.append(
                    Problem(
                        where,
                        path,
                        f"{number} is not in the numbers of {scope}: no call will match",
                        Severity.WARNING,
                    )
                )
    return problems


def transport_problems(state: DesiredState) -> list[Problem]:
    """Outbound SIP over UDP (or auto, which starts with UDP) to a public address."""
    problems = []
    for trunk in state.outbound.values():
        spec = trunk.spec
        if spec.transport in ("udp", "auto") and is_public_host(spec.address):
            where, path = trunk.where("transport")
            problems.append(
                Problem(
                    where,
                    path,
                    f"{spec.transport} to the public address {spec.address}: signalling and "
                    "digest exchanges cross the internet unencrypted; prefer tls",
                    Severity.WARNING,
                )
            )
    return problems


def is_public_host(address: str) -> bool:
    """Best effort without DNS: IP literals by range, host names unless obviously local."""
    host = address
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        pass
    lowered = host.lower().rstrip(".")
    return "." in lowered and not lowered.endswith(_PRIVATE_SUFFIXES)


def check_state(
    state: DesiredState,
    *,
    agent_names: Collection[str],
    personas: Collection[str] | None,
    persona_error: str | None = None,
    live_trunks: Iterable[TrunkRouting] = (),
    live_rules: Iterable[RuleRouting] = (),
) -> list[Problem]:
    """Every check, in the order an operator would fix them."""
    live_trunks = list(live_trunks)
    problems = reference_problems(state)
    problems += dispatch_problems(
        state, agent_names=agent_names, personas=personas, persona_error=persona_error
    )
    problems += trunk_conflicts([*desired_trunk_routing(state), *live_trunks])
    problems += rule_conflicts([*desired_rule_routing(state), *live_rules])
    problems += ownership_problems(state, live_trunks)
    problems += transport_problems(state)
    return problems
