"""A trunk's calls per second, held in every calendar second as the receiver counts them.

A carrier counts the calls arriving on a trunk in each second of its own clock, and
refuses (or bills, or blocks the trunk for) the ones over its limit. Granting send
slots `1/cps` apart is not enough for that: a sender wakes late after a stall (a busy
event loop, a slow database answer, a kill -9 and a takeover) and its late call lands
in the same second as the calls sent on time after it, so slots granted evenly still
arrive bunched. Two rules together bound what the receiver sees:

1. **A late sender does not send.** A dispatch (the scheduler) or a dial (the reminder
   agent, after its permit) sends no earlier than its slot and no later than
   `LATE_TOLERANCE` after it; one that wakes later gives its slot up and takes the
   next one from the shared limiter (`store.take_send_slot`, the permit's dial slot).
2. **Slots are spaced with headroom.** What lies between the sender's check and the
   receiver's clock (the network, a stall right after the check, skew between hosts)
   varies by at most `jitter`. A call sent for slot `s` then arrives within
   `[s + d, s + d + LATE_TOLERANCE + jitter]` for the path's shortest delay `d`, so
   the calls arriving in one receiver second all had slots inside one half-open window of
   `1 + LATE_TOLERANCE + jitter` seconds. Slots at least `(1 + LATE_TOLERANCE +
   jitter) / cps` apart put at most `cps` of them in such a window.

The price is the headroom: at the defaults a trunk of 10 calls per second sends about
8.3 a second on average, and never 11 in one second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

#: How long after its slot a sender may still send (seconds). Both sides use this one
#: value: the scheduler before each CreateDispatch, the agent before CreateSIPParticipant
#: (the permit's answer names it, so an agent follows the server it asked).
LATE_TOLERANCE = 0.1

#: How far ahead of the permit's answer an idle trunk's dial slot is (seconds): the
#: agent hears of its slot only after the server committed it (the answer's way back, a
#: busy API), and a slot already past when heard would be missed.
DIAL_LEAD = 0.25

#: The default allowance for what lies between a sender's check and the receiver's
#: clock (seconds): network delay variation, a stall after the check, clock skew.
DEFAULT_JITTER = 0.1


@dataclass(frozen=True, kw_only=True)
class TrunkPace:
    """One trunk's pace: its limit and the headroom that keeps every second under it."""

    calls_per_second: float
    jitter: float = DEFAULT_JITTER
    late_tolerance: float = LATE_TOLERANCE

    def __post_init__(self) -> None:
        if self.calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        if self.jitter < 0 or self.late_tolerance < 0:
            raise ValueError("jitter and late_tolerance must not be negative")

    @property
    def window(self) -> timedelta:
        """How long one receiver second lasts, seen from the slots (rule 2)."""
        return timedelta(seconds=1 + self.late_tolerance + self.jitter)

    @property
    def interval(self) -> timedelta:
        """The least time between two slots (see the module docstring, rule 2), rounded
        up to the microsecond: `calls_per_second` of them never fit in one window."""
        window_us = self.window // timedelta(microseconds=1)
        return timedelta(microseconds=math.ceil(window_us / self.calls_per_second))

    @property
    def sustained(self) -> float:
        """Calls per second this pace sends at most on average."""
        return 1 / self.interval.total_seconds()

    def missed(self, slot: datetime, now: datetime) -> bool:
        """Whether a sender waking at `now` is too late for `slot` (rule 1)."""
        return (now - slot).total_seconds() > self.late_tolerance
