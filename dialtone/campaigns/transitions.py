"""Where a contact goes after an attempt's outcome: a pure function of what is known.

The store reads the inputs and writes the result with ONE conditional UPDATE (see
`store`); keeping the decision here, free of the database, lets every combination be
checked as a table (tests/campaigns/test_store_transitions.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import FINAL_OUTCOMES, CampaignStatus, ContactState, Outcome, RetryPolicy


@dataclass(frozen=True)
class NextState:
    state: ContactState
    next_at: datetime | None  # when to call again; None keeps the contact's next_at


def next_state(
    *,
    outcome: Outcome,
    attempts: int,
    retry: RetryPolicy,
    campaign_status: CampaignStatus,
    on_dnc: bool,
    uncounted: bool,
    now: datetime,
) -> NextState:
    """`attempts`: calls counted so far, this one included. `uncounted`: our side failed
    (a trunk, auth or codec fault paused the campaign), so this call does not count."""
    if uncounted and outcome not in FINAL_OUTCOMES and campaign_status != CampaignStatus.CANCELLED:
        # The contact keeps its place and waits for the operator to resume the campaign;
        # no retry delay applies.
        state = ContactState.PENDING if attempts <= 1 else ContactState.RETRY_WAIT
        return NextState(state, now)
    if outcome is Outcome.COMPLETED:
        return NextState(ContactState.COMPLETED, None)
    if outcome is Outcome.INVALID_NUMBER:
        return NextState(ContactState.FAILED, None)
    if outcome is Outcome.OPTED_OUT:
        return NextState(ContactState.DNC, None)
    if campaign_status == CampaignStatus.CANCELLED:
        return NextState(ContactState.CANCELLED, None)
    if on_dnc:
        return NextState(ContactState.DNC, None)
    delay = retry.delay_after(outcome)
    if delay is None or attempts >= retry.max_attempts:
        return NextState(ContactState.EXHAUSTED, None)
    return NextState(ContactState.RETRY_WAIT, now + timedelta(seconds=delay))
