"""Named fault points: a crash test kills the process at an exact step, not by timing luck.

`DIALTONE_FAULTS="permit_committed@3"` makes the third arrival at `fault_point(
"permit_committed")` kill this process with SIGKILL, as `kill -9` would, at that very
step (several points: comma-separated). Unset, as in every deployment, a fault point is
one dictionary lookup. The points dialtone names:

- `send_slot_reached`: a dispatch waited for its send slot on the trunk's pace and is
  about to check it is not too late for it (nothing sent yet);
- `dispatch_sent`: LiveKit accepted a dispatch; the attempt is not yet marked dispatched;
- `permit_committed`: the API committed a dial permit and has not answered yet;
- `outcome_committed`: the API committed an outcome and has not answered yet.

The test's own agent adds its steps (after the dial, before the report) on its side.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "DIALTONE_FAULTS"

_lock = threading.Lock()
_hits: dict[str, int] = {}


def _armed() -> dict[str, int]:
    armed: dict[str, int] = {}
    for item in os.environ.get(ENV, "").split(","):
        name, _, nth = item.strip().partition("@")
        if name:
            armed[name] = int(nth or "1")
    return armed


def fault_point(name: str) -> None:
    """Kill this process here if `DIALTONE_FAULTS` arms `name` for this arrival."""
    if ENV not in os.environ:
        return
    nth = _armed().get(name)
    if nth is None:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        hit = _hits[name]
    if hit == nth:
        os.kill(os.getpid(), signal.SIGKILL)
