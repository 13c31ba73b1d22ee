"""Through phone menus: how often the reminder agent reaches its target, and how fast.

Plays every shipped menu tree (`tests/scenarios/reminder_menu_*.yaml`, or the files
given) as a simulated reminder call, exactly as `dialtone simulate` does: the menu is
espeak-ng speech on an 8 kHz phone line, the agent's keys move it, and the reminder
side is the production one (VAD, recogniser, answer detection, `outbound/ivr.py`).

A tree whose scenario expects the call to be completed has a way to the persona's
`reminder.menu_target`: it counts as reached when the scenario passes and the agent's
first words after its last key come within `--within` seconds of the menu's first
word. A tree that expects `ivr_failed` has no way through (or a loop): it counts as
right when the agent gives up, keys and all, as the scenario expects. The last line is
`ivr: reached X` (reachable trees reached in time, between 0 and 1).

    .venv/bin/python bench/ivr.py [--within 60] [scenario.yaml ...]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"


@dataclass(frozen=True)
class Tree:
    name: str
    reachable: bool
    passed: bool
    outcome: str | None
    detail: str
    keys: str
    reached_s: float | None  # menu's first word -> the agent's first words after its keys
    failures: tuple[str, ...]


async def play(path: Path) -> Tree:
    from dialtone.config import load_settings
    from dialtone.simulate.reminder_call import simulate_reminder_call
    from dialtone.simulate.scenario import load_scenario

    scenario = load_scenario(path)
    report = await simulate_reminder_call(scenario, settings=load_settings())
    keys_at = [line.at for line in report.transcript if line.text.startswith("(keys")]
    spoke = [
        line.at
        for line in report.transcript
        if line.speaker == "agent"
        and not line.text.startswith("(keys")
        and (not keys_at or line.at > keys_at[-1])
    ]
    reachable = scenario.expect.outcome != "ivr_failed"
    return Tree(
        name=path.stem,
        reachable=reachable,
        passed=report.passed,
        outcome=report.outcome,
        detail=report.outcome_detail or "",
        keys=" ".join(report.keys_sent) or "none",
        reached_s=spoke[0] if reachable and spoke and keys_at else None,
        failures=tuple(report.failures)
        + tuple(f"{line.at:6.1f}s {line.speaker}: {line.text}" for line in report.transcript)
        * (not report.passed),
    )


def summary(trees: list[Tree], within_s: float) -> list[str]:
    lines = ["", "tree                          way?   outcome       keys     reached"]
    for tree in trees:
        at = "-" if tree.reached_s is None else f"{tree.reached_s:.1f}s"
        way = "yes" if tree.reachable else "no"
        lines.append(f"{tree.name:<29} {way:<6} {tree.outcome or '-':<13} {tree.keys:<8} {at}")
        lines.append(f"{'':<29} {tree.detail}")
        if not tree.passed:
            lines += [f"{'':<29} FAILED: {failure}" for failure in tree.failures]
    reachable = [t for t in trees if t.reachable]
    reached = [
        t for t in reachable if t.passed and t.reached_s is not None and t.reached_s <= within_s
    ]
    blocked = [t for t in trees if not t.reachable]
    gave_up = [t for t in blocked if t.passed]
    lines.append("")
    lines.append(
        f"reached the target within {within_s:.0f} s: {len(reached)} of {len(reachable)} trees"
    )
    lines.append(f"gave up (ivr_failed) where there is no way: {len(gave_up)} of {len(blocked)}")
    fraction = len(reached) / len(reachable) if reachable else 0.0
    lines.append(f"ivr: reached {fraction:.3f}")
    return lines


async def run(paths: list[Path]) -> list[Tree]:
    trees = []
    for path in paths:
        tree = await play(path)
        mark = "ok " if tree.passed else "BAD"
        print(f"  {mark} {tree.name}: {tree.outcome} (keys {tree.keys})", flush=True)
        trees.append(tree)
    return trees


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", type=Path, help="menu scenario files")
    parser.add_argument("--within", type=float, default=60.0, help="seconds to reach the target")
    args = parser.parse_args(argv)
    paths = args.scenarios or sorted(SCENARIOS.glob("reminder_menu_*.yaml"))
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"error: no such scenario file: {missing[0]}", file=sys.stderr)
        return 2
    from dialtone.config import ConfigError
    from dialtone.simulate.scenario import load_scenario

    for path in paths:
        try:
            if load_scenario(path).reminder is None:
                print(f"error: {path}: not a reminder call (no reminder: section)", file=sys.stderr)
                return 2
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    os.chdir(ROOT)
    os.environ["DIALTONE_PROFILE"] = "offline"
    with tempfile.TemporaryDirectory() as data:
        # the simulated calls' records go to a folder of their own, not the checkout's
        os.environ["DIALTONE_DATA_DIR"] = data
        print(f"phone menus: {len(paths)} trees, offline profile")
        trees = asyncio.run(run(paths))
    print("\n".join(summary(trees, args.within)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
