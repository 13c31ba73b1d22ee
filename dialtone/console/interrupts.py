"""Ctrl-C for the console, without a KeyboardInterrupt in every helper process.

The terminal sends SIGINT to the whole foreground process group, which includes the
offline recogniser's worker processes (started from multiprocessing's fork server);
each would print a traceback. So SIGINT is ignored while the fork server starts (an
ignored signal stays ignored in child processes, even across exec, and the server's
children inherit the server's), and only then does the console's event loop take it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from multiprocessing import forkserver


def shield_helpers_from_ctrl_c() -> None:
    """Call first, before any helper process is started."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if "forkserver" in multiprocessing.get_all_start_methods():
        forkserver.ensure_running()


def ctrl_c_event() -> asyncio.Event:
    """An event the running loop sets at Ctrl-C."""
    event = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, event.set)
    return event
