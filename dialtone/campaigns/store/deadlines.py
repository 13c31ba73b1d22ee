"""How long the server waits for an attempt's outcome: from the call itself.

An attempt's budget is the persona's ring timeout + its `max_call_seconds` + a margin
for hanging up and reporting (`call_budget`), written on the attempt when it is claimed.
The deadline is the dispatch time + `AGENT_START_MARGIN` + the budget, and moves to
the permit time + the budget once the agent takes its dial permit; after it, the server
settles the attempt from what it knows (`OutcomesMixin.settle_unreported`). LiveKit's
`room_finished` for the attempt's room brings the deadline forward to a short grace
(`OutcomesMixin.room_finished`): an agent that died mid-call is settled a minute after
its room closed, not at the end of the longest call the persona allows.
"""

from __future__ import annotations

from datetime import timedelta

#: Attempts written before per-attempt deadlines (revision 0004) keep the old fixed one.
LEGACY_DEADLINE = timedelta(minutes=45)
#: A dispatched attempt not yet dialled waits this long, on top of its budget, for the
#: agent to start and ask for its permit (a busy worker may queue the job).
AGENT_START_MARGIN = timedelta(minutes=2)
#: LiveKit closed the attempt's room: every agent has left it, so a report still to come
#: is one already being retried (at most 15 s apart); the deadline moves this close.
ROOM_FINISHED_GRACE = timedelta(seconds=60)
#: Hanging up, the report's own retries, a slow API: after the call's longest length.
REPORT_MARGIN_SECONDS = 120
#: The persona defaults' budget (ring 30 s + max call 300 s + the margin).
DEFAULT_BUDGET_SECONDS = 30 + 300 + REPORT_MARGIN_SECONDS


def call_budget(ring_seconds: int, max_call_seconds: int) -> int:
    """Seconds one dialled attempt may take before the server stops waiting for it."""
    return ring_seconds + max_call_seconds + REPORT_MARGIN_SECONDS
