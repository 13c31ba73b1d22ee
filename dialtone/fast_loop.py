"""Job processes on uvloop (`DIALTONE_UVLOOP`): imported by the worker's forkserver.

livekit-agents creates each job process's event loop with `asyncio.new_event_loop()`,
which asks the event loop policy; the forkserver imports this module before it forks
job processes, so each of them inherits uvloop's policy. uvloop schedules callbacks and
timers in C, which is where a busy job process spends a share of every frame's work.
"""

from __future__ import annotations

import asyncio

try:
    import uvloop
except ImportError as exc:  # the setting is on but the extra is not installed
    raise ImportError("DIALTONE_UVLOOP=1 needs uvloop: pip install 'dialtone[uvloop]'") from exc

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
