"""Every state change of a contact and of its attempt, as one table.

The store reads the inputs, asks here, and writes the result with conditional UPDATEs
whose row counts decide (see `store.outcomes`): the attempt row moves first
(`WHERE status IN <from>`), and only the caller whose UPDATE changed it moves the
contact (`WHERE state = in_flight AND attempt_seq = <this attempt>`) and writes the
`call.outcome` event. A second ending of the same attempt (an expiry racing a report,
two replicas expiring at once) changes no row and emits nothing.

Keeping the decision here, free of the database, lets every combination be checked as
a table (tests/campaigns/test_store_transitions.py) and lets the stateful test check
each change it observes against `CONTACT_MOVES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .models import (
    FINAL_OUTCOMES,
    AttemptStatus,
    CampaignStatus,
    ContactState,
    Outcome,
    RetryPolicy,
)

S = ContactState
A = AttemptStatus


class Ending(StrEnum):
    """How an attempt ends; each has one row in `ATTEMPT_ENDINGS`."""

    #: a call was (or may have been) placed: the agent's report, or the server settling
    #: an attempt whose report never came; counts towards `max_attempts` unless uncounted
    OUTCOME = "outcome"
    #: certain that no call was placed (refused at dial time, never dialled before its
    #: deadline, LiveKit created nothing): does not count, the contact waits again
    NOT_PLACED = "not_placed"
    #: LiveKit refused the dispatch for this contact only: the contact ends `failed`
    REJECTED = "rejected"


#: The attempt's half: from which statuses an ending may move it, and to which status.
ATTEMPT_ENDINGS: dict[Ending, tuple[frozenset[AttemptStatus], AttemptStatus]] = {
    Ending.OUTCOME: (frozenset({A.DISPATCHING, A.DISPATCHED}), A.FINISHED),
    Ending.NOT_PLACED: (frozenset({A.DISPATCHING, A.DISPATCHED}), A.NOT_DISPATCHED),
    Ending.REJECTED: (frozenset({A.DISPATCHING}), A.REJECTED),
}

#: Endings that write a `call.outcome` event (a call that was never placed has none).
EMITS_EVENT = frozenset({Ending.OUTCOME, Ending.REJECTED})

#: Every contact move there is, attempt-caused or not (claim, cancel, do-not-call).
CONTACT_MOVES: frozenset[tuple[ContactState, ContactState]] = frozenset(
    {
        (S.PENDING, S.IN_FLIGHT),  # claimed
        (S.RETRY_WAIT, S.IN_FLIGHT),  # claimed again
        (S.PENDING, S.DNC),  # number listed (opt-out elsewhere, API, claim-time check)
        (S.RETRY_WAIT, S.DNC),
        (S.PENDING, S.CANCELLED),  # campaign cancelled
        (S.RETRY_WAIT, S.CANCELLED),
        *((S.IN_FLIGHT, s) for s in S if s is not S.IN_FLIGHT),  # an attempt ended
    }
)


@dataclass(frozen=True)
class NextState:
    state: ContactState
    next_at: datetime | None  # when to call again; None keeps the contact's next_at


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What is known when an attempt ends; `attempts` counts this attempt."""

    ending: Ending
    outcome: Outcome | None
    attempts: int
    retry: RetryPolicy
    campaign_status: CampaignStatus
    on_dnc: bool
    uncounted: bool
    now: datetime
    retry_at: datetime | None = None


@dataclass(frozen=True)
class Rule:
    why: str
    when: Callable[[Facts], bool]
    then: Callable[[Facts], NextState]


def _to(state: ContactState) -> Callable[[Facts], NextState]:
    return lambda _f: NextState(state, None)


def _keep_place(f: Facts) -> NextState:
    """No call counted: back to waiting, first in line (no retry delay)."""
    state = S.PENDING if f.attempts <= 1 else S.RETRY_WAIT
    return NextState(state, max(f.now, f.retry_at or f.now))


def _by_policy(f: Facts) -> NextState:
    assert f.outcome is not None
    delay = f.retry.delay_after(f.outcome)
    if delay is None or f.attempts >= f.retry.max_attempts:
        return NextState(S.EXHAUSTED, None)
    return NextState(S.RETRY_WAIT, f.now + timedelta(seconds=delay))


def _is(outcome: Outcome) -> Callable[[Facts], bool]:
    return lambda f: f.ending is Ending.OUTCOME and f.outcome is outcome


#: The contact's half, first matching row wins. The person's own answer (completed,
#: opted out) and a number that does not exist outrank everything; then the operator's
#: cancel, then the do-not-call list, then "no call counted", then the retry policy
#: (which covers declined, unknown and a counted failure like any retryable outcome).
RULES: tuple[Rule, ...] = (
    Rule("reached: the reminder was delivered", _is(Outcome.COMPLETED), _to(S.COMPLETED)),
    Rule("the number does not exist", _is(Outcome.INVALID_NUMBER), _to(S.FAILED)),
    Rule("asked not to be called again", _is(Outcome.OPTED_OUT), _to(S.DNC)),
    Rule("LiveKit refused this contact", lambda f: f.ending is Ending.REJECTED, _to(S.FAILED)),
    Rule(
        "the campaign was cancelled",
        lambda f: f.campaign_status == CampaignStatus.CANCELLED,
        _to(S.CANCELLED),
    ),
    Rule("the number is on the do-not-call list", lambda f: f.on_dnc, _to(S.DNC)),
    Rule(
        "a phone menu did not lead to the person: the retry policy decides",
        _is(Outcome.IVR_FAILED),
        _by_policy,
    ),
    Rule(
        "no call counted (none placed, or our side failed and the campaign paused)",
        lambda f: f.ending is Ending.NOT_PLACED or f.uncounted,
        _keep_place,
    ),
    Rule("retryable: the retry policy decides", lambda f: True, _by_policy),
)


def decide(facts: Facts) -> tuple[Rule, NextState]:
    """The first rule that applies, and where it sends the contact."""
    for rule in RULES:
        if rule.when(facts):
            return rule, rule.then(facts)
    raise AssertionError("the last rule always applies")  # pragma: no cover


def next_state(
    *,
    outcome: Outcome | None,
    attempts: int,
    retry: RetryPolicy,
    campaign_status: CampaignStatus,
    on_dnc: bool,
    uncounted: bool,
    now: datetime,
    ending: Ending = Ending.OUTCOME,
    retry_at: datetime | None = None,
) -> NextState:
    """`attempts`: calls counted so far, this one included. `uncounted`: our side failed
    (a trunk, auth or codec fault paused the campaign), so this call does not count."""
    if ending is Ending.OUTCOME and outcome is None:
        raise ValueError("an attempt that ended with a call needs its outcome")
    if uncounted and outcome in FINAL_OUTCOMES:
        uncounted = False  # the person's answer stands whatever our side did
    return decide(
        Facts(
            ending=ending,
            outcome=outcome,
            attempts=attempts,
            retry=retry,
            campaign_status=campaign_status,
            on_dnc=on_dnc,
            uncounted=uncounted,
            now=now,
            retry_at=retry_at,
        )
    )[1]


def counts(ending: Ending, uncounted: bool) -> bool:
    """Whether the attempt counts towards the contact's `max_attempts`."""
    return ending is not Ending.NOT_PLACED and not uncounted
