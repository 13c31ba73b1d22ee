"""Injected failures: errors, slowness and dropped connections on chosen calls.

The real client retries a 5xx or a transport error with the same
``X-Livekit-Request-Id`` (only for LiveKit Cloud hosts — see README), so a fault
is one-shot by default: the retry then succeeds, as with a real blip. Use
``times`` for an outage that outlasts the retries.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .errors import TWIRP_HTTP_STATUS


@dataclass
class Fault:
    """One injected fault on ``method`` ("*" = any method)."""

    method: str
    #: fires first on the nth call to ``method`` counted from injection (1 = next call)
    nth: int = 1
    #: Twirp error code to answer with, or None to answer normally (after ``delay``)
    code: str | None = None
    msg: str = ""
    #: seconds to wait before answering (or dropping)
    delay: float = 0.0
    #: close the connection without any response
    drop: bool = False
    #: how many consecutive calls it fires on
    times: int = 1
    seen: int = 0
    fired: int = 0

    def hit(self) -> bool:
        """Count one call to the method; True if the fault fires on it."""
        self.seen += 1
        if self.seen >= self.nth and self.fired < self.times:
            self.fired += 1
            return True
        return False

    @property
    def exhausted(self) -> bool:
        return self.fired >= self.times


@dataclass
class FaultPlan:
    """What the server does for one request, after all matching faults are combined."""

    delay: float = 0.0
    drop: bool = False
    code: str | None = None
    msg: str = ""


@dataclass
class Faults:
    """``double.faults``."""

    faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def inject(
        self,
        method: str,
        *,
        nth: int = 1,
        code: str | None = None,
        msg: str | None = None,
        delay: float = 0.0,
        drop: bool = False,
        times: int = 1,
    ) -> Fault:
        """Fail the ``nth`` call to ``method`` (and ``times - 1`` after it)."""
        if code is not None and code not in TWIRP_HTTP_STATUS:
            raise ValueError(f"unknown Twirp code {code!r}")
        if code is None and not drop and delay <= 0:
            raise ValueError("a fault needs a code, drop=True or a delay")
        if nth < 1 or times < 1:
            raise ValueError("nth and times count from 1")
        fault = Fault(
            method=method,
            nth=nth,
            code=code,
            msg=msg if msg is not None else f"injected fault ({code or 'drop'})",
            delay=delay,
            drop=drop,
            times=times,
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def plan(self, method: str) -> FaultPlan:
        """Advance every fault watching ``method`` and combine the ones that fire."""
        out = FaultPlan()
        with self._lock:
            for f in self.faults:
                if f.method not in (method, "*") or not f.hit():
                    continue
                out.delay += f.delay
                out.drop = out.drop or f.drop
                if out.code is None and f.code is not None:
                    out.code, out.msg = f.code, f.msg
        return out

    @property
    def pending(self) -> list[Fault]:
        """Faults that have not fired as often as asked (useful to assert all were hit)."""
        with self._lock:
            return [f for f in self.faults if not f.exhausted]

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
