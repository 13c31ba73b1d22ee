"""Does what LiveKit holds match what dialtone's files and personas expect.

These read the `LiveState` listed once by the SIP service check, so a slow server is
asked three times, not once per check. Each failure names the object and the file or
command that fixes it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from livekit.protocol.sip import SIPInboundTrunkInfo

from ..config import ConfigError, Settings
from ..personas import PersonaBook
from ..trunkspec.live import LiveState
from ..trunkspec.loader import load_directory
from ..trunkspec.plan import compute_plan
from ..trunkspec.problems import SpecError, errors
from ..voices import voice_problems
from ..wire import normalize_phone
from .result import Check, failed, passed, skipped

FAMILY = "Configuration"
MAX_LISTED = 5


def _listing(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f"; and {more} more" if more > 0 else "")


def check_trunk_sync(
    directory: Path,
    live: LiveState,
    *,
    env: Mapping[str, str],
    agent_names: Collection[str],
    personas: Collection[str] | None,
    persona_error: str | None,
) -> Check:
    """The trunk plan is empty: LiveKit holds exactly what `trunks/` declares."""
    name = "trunks/ in sync"
    if not directory.is_dir():
        return skipped(FAMILY, name, f"no {directory}/ directory: trunks are managed by hand")
    try:
        state = load_directory(directory, env=env)
        plan = compute_plan(
            state,
            live,
            agent_names=agent_names,
            personas=personas,
            persona_error=persona_error,
        )
    except SpecError as exc:
        found = [str(p) for p in errors(exc.problems)] or [str(p) for p in exc.problems]
        return failed(
            FAMILY,
            name,
            _listing(found),
            f"Fix {directory}/ until `dialtone trunks validate` passes, then run "
            "`dialtone trunks plan`.",
        )
    if not plan.has_changes:
        return passed(FAMILY, name, f"LiveKit matches {directory}/")
    counts = plan.counts()
    changes = [f"{c.action.value} {c.title}" for c in plan.ordered()]
    return failed(
        FAMILY,
        name,
        f"{counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete: {_listing(changes)}",
        f"Run `dialtone trunks plan --dir {directory}` to see the diff and "
        f"`dialtone trunks apply --dir {directory}` to make LiveKit match.",
    )


def check_dispatch_agents(live: LiveState, *, agent_names: Collection[str]) -> Check:
    """Every dispatch rule sends an agent a dialtone worker registers."""
    name = "dispatch rules name dialtone agents"
    if not live.rules:
        if live.inbound:
            return failed(
                FAMILY,
                name,
                f"{len(live.inbound)} inbound trunk(s) but no dispatch rule: inbound calls "
                "reach no agent",
                "Add a dispatch rule with `agent: receptionist` to trunks/ and run "
                "`dialtone trunks apply`.",
            )
        return skipped(FAMILY, name, "no inbound trunks or dispatch rules: inbound calls are off")
    known = ", ".join(sorted(agent_names))
    bad = []
    for rule in live.rules:
        agents = list(rule.room_config.agents) if rule.HasField("room_config") else []
        label = f"rule {rule.name or rule.sip_dispatch_rule_id!r}"
        if not agents:
            bad.append(f"{label} dispatches no agent (callers hear silence)")
        bad += [
            f"{label} dispatches unknown agent {a.agent_name!r}"
            for a in agents
            if a.agent_name not in agent_names
        ]
    if bad:
        return failed(
            FAMILY,
            name,
            _listing(bad),
            f"Make each rule's agent one that dialtone's workers register ({known}) in "
            "trunks/ and run `dialtone trunks apply`.",
        )
    return passed(FAMILY, name, f"{len(live.rules)} rule(s), each dispatching a dialtone agent")


def _normal(number: str) -> str:
    try:
        return normalize_phone(number)
    except ValueError:
        return number


def _covers(trunk: SIPInboundTrunkInfo, number: str) -> bool:
    # A trunk without numbers accepts calls to any number.
    return not trunk.numbers or number in {_normal(n) for n in trunk.numbers}


def check_persona_numbers(book: PersonaBook, live: LiveState) -> Check:
    """Each persona's number is on an inbound trunk, or calls to it never arrive."""
    name = "persona numbers on inbound trunks"
    wanted = [(p.name, n) for p in book.personas.values() for n in p.numbers]
    if not wanted:
        return skipped(FAMILY, name, "no persona lists a number")
    missing = [
        f"{number} (persona {persona!r})"
        for persona, number in wanted
        if not any(_covers(t, number) for t in live.inbound)
    ]
    if missing:
        return failed(
            FAMILY,
            name,
            f"on no inbound trunk: {_listing(missing)}",
            "Add the number to an inbound trunk in trunks/ and run `dialtone trunks apply`, "
            "or remove it from the persona.",
        )
    return passed(FAMILY, name, f"{len(wanted)} number(s), each on an inbound trunk")


def check_transfer_trunks(book: PersonaBook, live: LiveState) -> Check:
    """Each transfer target's `outbound_trunk` (name or ST_ id) exists on the server."""
    name = "transfer targets' outbound trunks"
    names = {t.name for t in live.outbound}
    ids = {t.sip_trunk_id for t in live.outbound}
    targets = [
        (p.name, t.name, t.outbound_trunk)
        for p in book.personas.values()
        for t in p.transfer_targets
        if t.outbound_trunk
    ]
    if not targets:
        return skipped(FAMILY, name, "no transfer target names an outbound trunk")
    missing = [
        f"{trunk!r} (persona {persona!r}, target {target!r})"
        for persona, target, trunk in targets
        if trunk not in (ids if trunk.startswith("ST_") else names)
    ]
    if missing:
        return failed(
            FAMILY,
            name,
            f"LiveKit has no outbound trunk {_listing(missing)}",
            "Create the trunk (trunks/ + `dialtone trunks apply`) or set the target's "
            "outbound_trunk to an existing trunk's name or ST_ id.",
        )
    return passed(FAMILY, name, f"{len(targets)} target(s), each trunk found")


def is_livekit_cloud(url: str) -> bool:
    """Whether `url` is a LiveKit Cloud project (its hosts are *.livekit.cloud)."""
    host = urlsplit(url).hostname or ""
    return host == "livekit.cloud" or host.endswith(".livekit.cloud")


def check_noise_cancellation(live: LiveState, *, livekit_url: str) -> Check:
    """Say plainly whether a trunk's `krisp` does anything on this server.

    Krisp noise cancellation on SIP calls is a LiveKit Cloud feature; a self-hosted SIP
    service stores `krisp_enabled` on the trunk and runs no noise filter, so the setting
    must not be read as "callers' noise is removed" there.
    """
    name = "noise cancellation on inbound trunks"
    asked = [t.name or t.sip_trunk_id for t in live.inbound if t.krisp_enabled]
    if not asked:
        return skipped(FAMILY, name, "no inbound trunk sets krisp")
    if is_livekit_cloud(livekit_url):
        return passed(
            FAMILY, name, f"Krisp noise cancellation (LiveKit Cloud) on {_listing(asked)}"
        )
    return skipped(
        FAMILY,
        name,
        f"krisp is set on {_listing(asked)} but self-hosted LiveKit SIP ignores it: no "
        "noise cancellation runs, callers' audio reaches the agent as the carrier sent it",
    )


def load_book(directory: Path, default: str) -> tuple[PersonaBook | None, str | None]:
    """The personas, or the one-line reason they cannot be read."""
    try:
        return PersonaBook.load(directory, default=default), None
    except ConfigError as exc:  # PersonaError is a ConfigError
        return None, str(exc)


def check_voices(book: PersonaBook, settings: Settings) -> Check:
    """Each persona's voice is one its engine has (espeak-ng offline; OpenAI on cloud)."""
    name = "persona voices"
    try:
        problems = voice_problems(book, settings)
    except ConfigError as exc:  # half a set of provider keys: the profile check says so
        return skipped(FAMILY, name, str(exc))
    if problems:
        return failed(
            FAMILY,
            name,
            _listing(problems),
            "Set each persona's voice to one listed (offline: `espeak-ng --voices`, e.g. "
            "en-us+f3; cloud: an OpenAI voice such as coral).",
        )
    return passed(FAMILY, name, f"{len(book.personas)} persona(s), every voice available")
