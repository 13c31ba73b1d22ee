"""`dialtone simulate`: run a scenario file and print its report."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from ..config import load_settings
from .runner import simulate_call
from .scenario import load_scenario


def run_simulation(
    path: Path, *, as_json: bool, out_dir: Path | None, record_call: bool = False
) -> bool:
    """Run the scenario at `path`; True when every expectation held. `record_call`
    records it even if its persona does not (the demo's console plays it)."""
    scenario = load_scenario(path)
    settings = load_settings()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    if scenario.reminder is not None:
        from .reminder_call import simulate_reminder_call

        report = asyncio.run(
            simulate_reminder_call(
                scenario, settings=settings, out_dir=out_dir, record_call=record_call
            )
        )
    else:
        report = asyncio.run(
            simulate_call(scenario, settings=settings, out_dir=out_dir, record_call=record_call)
        )
    typer.echo(report.to_json() if as_json else report.to_text())
    return report.passed
