"""`dialtone simulate`: run a scenario file and print its report."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Coroutine
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import typer

from ..config import load_settings
from .runner import simulate_call
from .scenario import load_scenario

T = TypeVar("T")


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

        report = run_until_interrupted(
            simulate_reminder_call(
                scenario, settings=settings, out_dir=out_dir, record_call=record_call
            )
        )
    else:
        report = run_until_interrupted(
            simulate_call(scenario, settings=settings, out_dir=out_dir, record_call=record_call)
        )
    typer.echo(report.to_json() if as_json else report.to_text())
    return report.passed


def run_until_interrupted(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, except that a Ctrl-C always ends in `KeyboardInterrupt`.

    asyncio turns Ctrl-C into cancelling the main task, and raises `KeyboardInterrupt`
    only if that task ends cancelled. A call's clean-up waits out its own tasks and
    swallows their cancellation, and can swallow this one too: the call then plays on to
    its normal end and exits 0 although the user pressed Ctrl-C (seen on a busy
    machine). Here each Ctrl-C cancels the main task again, and after any of them the
    run ends in `KeyboardInterrupt` however the task ended.
    """
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(main)
    presses = 0
    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        task = loop.create_task(main)

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            nonlocal presses
            presses += 1
            loop.call_soon_threadsafe(task.cancel)

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            result = loop.run_until_complete(task)
        except asyncio.CancelledError:
            if presses:
                raise KeyboardInterrupt from None
            raise
        finally:
            signal.signal(signal.SIGINT, previous)
    if presses:
        raise KeyboardInterrupt
    return result
