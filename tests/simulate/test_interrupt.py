"""Ctrl-C during `dialtone simulate` ends the run, whatever the call's clean-up does."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import pytest

from dialtone.simulate.cli import run_until_interrupted


async def call_whose_clean_up_swallows_the_cancel() -> str:
    async def hang_up() -> None:
        await asyncio.sleep(0.05)

    asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGINT)  # Ctrl-C
    for _ in range(3):  # clean-up that waits its own task out, as the simulator's does
        with contextlib.suppress(asyncio.CancelledError):
            await hang_up()
    return "passed"


def test_ctrl_c_absorbed_by_clean_up_still_interrupts() -> None:
    before = signal.getsignal(signal.SIGINT)  # (pytest-xdist's workers ignore SIGINT)
    with pytest.raises(KeyboardInterrupt):  # asyncio.run returned "passed": exit 0
        run_until_interrupted(call_whose_clean_up_swallows_the_cancel())
    assert signal.getsignal(signal.SIGINT) == before


def test_a_run_without_ctrl_c_returns_its_result() -> None:
    async def call() -> str:
        await asyncio.sleep(0)
        return "passed"

    assert run_until_interrupted(call()) == "passed"
