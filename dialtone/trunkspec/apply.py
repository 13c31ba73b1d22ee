"""Carrying out a plan: exactly one API call per change, in the plan's safe order.

A failure stops at once (later changes may depend on the failed one, e.g. a rule on a
trunk that was not created) and the report says what was applied and what was not.
Nothing needs undoing: each change is one atomic call, the ownership marker is written
by the same call, so a re-run plans only what is still missing and converges.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    DeleteSIPDispatchRuleRequest,
    DeleteSIPTrunkRequest,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPOutboundTrunkInfo,
)

from . import convert
from .live import SipApi
from .loader import DesiredState
from .model import DispatchRuleSpec, InboundTrunkSpec, OutboundTrunkSpec
from .plan import PASSWORD, SYMBOL, Action, Change, Kind, Plan
from .secrets import fingerprint

logger = logging.getLogger("dialtone.trunks")


@dataclass
class ApplyReport:
    """What happened: applied changes (with ids), the failure if any, what was left."""

    applied: list[tuple[Change, str]] = field(default_factory=list)
    failed: Change | None = None
    error: str | None = None
    not_applied: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def calls(self) -> int:
        return len(self.applied) + (1 if self.failed else 0)

    def render(self) -> str:
        lines = [f"  {SYMBOL[c.action]} {c.title}  {i}  done" for c, i in self.applied]
        if self.failed is not None:
            lines.append(
                f"  {SYMBOL[self.failed.action]} {self.failed.title}  FAILED: {self.error}"
            )
            if self.not_applied:
                lines.append("Not applied (stopped at the failure):")
                lines += [f"  {SYMBOL[c.action]} {c.title}" for c in self.not_applied]
            lines.append(
                f"Applied {len(self.applied)} of {len(self.applied) + 1 + len(self.not_applied)} "
                "changes. Fix the cause and run apply again: it plans only what is missing."
            )
        else:
            lines.append(f"Applied {len(self.applied)} changes.")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "applied": [{**c.to_json(), "id": i} for c, i in self.applied],
            "failed": self.failed.to_json() if self.failed else None,
            "error": self.error,
            "not_applied": [c.to_json() for c in self.not_applied],
        }


# livekit-api's client sets no timeout of its own on these calls (it passes
# timeout=None to aiohttp), so a hung server would hang `apply` for ever. A call that
# times out may still have been applied: the ownership marker makes the re-run see it.
CALL_TIMEOUT_S = 30.0


def describe_error(exc: BaseException) -> str:
    """The server's code and message (they name ids and numbers, never secrets)."""
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None)
    if isinstance(code, str) and isinstance(message, str):
        if not message.strip():
            # A server that answered with an empty body (a proxy's page, a wrong path)
            status = getattr(exc, "status", None)
            shown = f" (HTTP {status})" if isinstance(status, int) and status else ""
            return (
                f"{code}: an empty answer{shown}; is LIVEKIT_URL the LiveKit server's "
                "address (wss://host, no path)?"
            )
        return f"{code}: {message}"
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"no answer from LiveKit within {CALL_TIMEOUT_S:g}s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def apply_plan(
    plan: Plan,
    state: DesiredState,
    sip: SipApi,
    *,
    progress: Callable[[Change, str], None] | None = None,
) -> ApplyReport:
    """Run `plan` against `sip`; stop at the first failure."""
    ordered = plan.ordered()
    fingerprints = await _fingerprints(ordered, state)
    trunk_ids = dict(plan.trunk_ids)
    report = ApplyReport()
    for index, change in enumerate(ordered):
        try:
            new_id = await asyncio.wait_for(
                _execute(change, state, sip, trunk_ids, fingerprints), CALL_TIMEOUT_S
            )
        except Exception as exc:  # any failure stops the run; the report says where
            report.failed = change
            report.error = describe_error(exc)
            report.not_applied = ordered[index + 1 :]
            logger.info("%s %s failed: %s", change.action.value, change.title, report.error)
            return report
        if change.kind is Kind.INBOUND and change.action is not Action.DELETE:
            trunk_ids[change.name] = new_id
        report.applied.append((change, new_id))
        logger.info("%s %s (%s)", change.action.value, change.title, new_id)
        if progress is not None:
            progress(change, new_id)
    return report


async def _fingerprints(changes: list[Change], state: DesiredState) -> dict[int, str]:
    """scrypt is slow by design: hash every password the run will write, in parallel."""
    jobs: dict[int, str] = {}
    for change in changes:
        if change.action is Action.DELETE or change.declared is None:
            continue
        spec = change.declared.spec
        if isinstance(spec, InboundTrunkSpec | OutboundTrunkSpec) and spec.auth:
            secret = state.secret(spec.auth.password)
            if secret is not None:
                jobs[id(change)] = secret.reveal()
    if not jobs:
        return {}
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        keys = list(jobs)
        results = await asyncio.gather(
            *(loop.run_in_executor(pool, fingerprint, jobs[k]) for k in keys)
        )
    return dict(zip(keys, results, strict=True))


def _metadata(change: Change, fingerprints: dict[int, str]) -> str:
    assert change.declared is not None
    secrets = {PASSWORD: fingerprints[id(change)]} if id(change) in fingerprints else {}
    return convert.Marker(change.declared.source, secrets).to_metadata()


async def _execute(
    change: Change,
    state: DesiredState,
    sip: SipApi,
    trunk_ids: dict[str, str],
    fingerprints: dict[int, str],
) -> str:
    """One API call; returns the object's id."""
    if change.action is Action.DELETE:
        assert change.live_id
        if change.kind is Kind.RULE:
            await sip.delete_dispatch_rule(
                DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=change.live_id)
            )
        else:
            await sip.delete_trunk(DeleteSIPTrunkRequest(sip_trunk_id=change.live_id))
        return change.live_id
    assert change.declared is not None
    spec = change.declared.spec
    metadata = _metadata(change, fingerprints)
    if isinstance(spec, InboundTrunkSpec):
        secret = state.secret(spec.auth.password) if spec.auth else None
        base = change.live if isinstance(change.live, SIPInboundTrunkInfo) else None
        trunk = convert.build_inbound(
            spec,
            password=secret.reveal() if secret else "",
            metadata=metadata,
            base=base,
        )
        if base is None:
            trunk.sip_trunk_id = ""
            return (
                await sip.create_inbound_trunk(CreateSIPInboundTrunkRequest(trunk=trunk))
            ).sip_trunk_id
        return (await sip.update_inbound_trunk(base.sip_trunk_id, trunk)).sip_trunk_id
    if isinstance(spec, OutboundTrunkSpec):
        secret = state.secret(spec.auth.password) if spec.auth else None
        out_base = change.live if isinstance(change.live, SIPOutboundTrunkInfo) else None
        outbound = convert.build_outbound(
            spec,
            password=secret.reveal() if secret else "",
            headers=state.headers(spec.headers),
            metadata=metadata,
            base=out_base,
        )
        if out_base is None:
            outbound.sip_trunk_id = ""
            return (
                await sip.create_outbound_trunk(CreateSIPOutboundTrunkRequest(trunk=outbound))
            ).sip_trunk_id
        return (await sip.update_outbound_trunk(out_base.sip_trunk_id, outbound)).sip_trunk_id
    assert isinstance(spec, DispatchRuleSpec)
    rule_base = change.live if isinstance(change.live, SIPDispatchRuleInfo) else None
    rule = convert.build_rule(
        spec,
        trunk_ids=[trunk_ids[name] for name in spec.trunks],
        pin=state.pin(spec.pin),
        metadata=metadata,
        base=rule_base,
    )
    if rule_base is None:
        rule.sip_dispatch_rule_id = ""
        return (
            await sip.create_dispatch_rule(CreateSIPDispatchRuleRequest(dispatch_rule=rule))
        ).sip_dispatch_rule_id
    return (
        await sip.update_dispatch_rule(rule_base.sip_dispatch_rule_id, rule)
    ).sip_dispatch_rule_id
