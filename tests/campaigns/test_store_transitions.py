"""The contact's next state after an outcome, as a table (`transitions.next_state`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialtone.campaigns.models import CampaignStatus, ContactState, Outcome, RetryPolicy
from dialtone.campaigns.transitions import CONTACT_MOVES, Ending, NextState, next_state

NOW = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
ACTIVE, PAUSED, CANCELLED = CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.CANCELLED
S = ContactState


def later(seconds: int) -> datetime:
    return NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("outcome", "attempts", "status", "on_dnc", "uncounted", "expected"),
    [
        # final outcomes, whatever else is true
        (Outcome.COMPLETED, 1, ACTIVE, False, False, NextState(S.COMPLETED, None)),
        (Outcome.COMPLETED, 3, CANCELLED, True, True, NextState(S.COMPLETED, None)),
        (Outcome.INVALID_NUMBER, 1, ACTIVE, False, False, NextState(S.FAILED, None)),
        (Outcome.OPTED_OUT, 1, ACTIVE, False, False, NextState(S.DNC, None)),
        (Outcome.OPTED_OUT, 2, CANCELLED, False, True, NextState(S.DNC, None)),
        # retryable: wait the policy's delay while attempts remain
        (Outcome.NO_ANSWER, 1, ACTIVE, False, False, NextState(S.RETRY_WAIT, later(3600))),
        (Outcome.BUSY, 2, ACTIVE, False, False, NextState(S.RETRY_WAIT, later(900))),
        (Outcome.VOICEMAIL, 1, PAUSED, False, False, NextState(S.RETRY_WAIT, later(4 * 3600))),
        (Outcome.NO_ANSWER, 3, ACTIVE, False, False, NextState(S.EXHAUSTED, None)),
        (Outcome.NO_ANSWER, 4, ACTIVE, False, False, NextState(S.EXHAUSTED, None)),
        # cancelled campaign, or a number put on the DNC list during the call
        (Outcome.BUSY, 1, CANCELLED, False, False, NextState(S.CANCELLED, None)),
        (Outcome.BUSY, 1, CANCELLED, True, False, NextState(S.CANCELLED, None)),
        (Outcome.BUSY, 1, ACTIVE, True, False, NextState(S.DNC, None)),
        # our side failed: the call does not count; the contact keeps its place
        (Outcome.FAILED, 1, PAUSED, False, True, NextState(S.PENDING, NOW)),
        (Outcome.FAILED, 2, PAUSED, False, True, NextState(S.RETRY_WAIT, NOW)),
        # ... unless the number went on the do-not-call list meanwhile
        (Outcome.FAILED, 3, PAUSED, True, True, NextState(S.DNC, None)),
        # declined, unknown and a counted failure follow the retry policy like the rest
        (Outcome.DECLINED, 1, ACTIVE, False, False, NextState(S.RETRY_WAIT, later(2 * 3600))),
        (Outcome.DECLINED, 3, ACTIVE, False, False, NextState(S.EXHAUSTED, None)),
        (Outcome.UNKNOWN, 1, ACTIVE, False, False, NextState(S.RETRY_WAIT, later(3600))),
        (Outcome.UNKNOWN, 3, ACTIVE, False, False, NextState(S.EXHAUSTED, None)),
        (Outcome.UNKNOWN, 1, ACTIVE, True, False, NextState(S.DNC, None)),
        (Outcome.FAILED, 1, ACTIVE, False, False, NextState(S.RETRY_WAIT, later(600))),
        (Outcome.FAILED, 3, ACTIVE, False, False, NextState(S.EXHAUSTED, None)),
        (Outcome.FAILED, 1, CANCELLED, False, False, NextState(S.CANCELLED, None)),
        (Outcome.FAILED, 1, CANCELLED, False, True, NextState(S.CANCELLED, None)),
        # a phone menu that led nowhere: try again later, like a mailbox
        (Outcome.IVR_FAILED, 1, ACTIVE, False, False, NextState(S.RETRY_WAIT, later(4 * 3600))),
        (Outcome.IVR_FAILED, 3, ACTIVE, False, False, NextState(S.EXHAUSTED, None)),
        (Outcome.IVR_FAILED, 1, ACTIVE, True, False, NextState(S.DNC, None)),
        (Outcome.IVR_FAILED, 1, CANCELLED, False, False, NextState(S.CANCELLED, None)),
    ],
)
def test_next_state(
    outcome: Outcome,
    attempts: int,
    status: CampaignStatus,
    on_dnc: bool,
    uncounted: bool,
    expected: NextState,
) -> None:
    got = next_state(
        outcome=outcome,
        attempts=attempts,
        retry=RetryPolicy(),
        campaign_status=status,
        on_dnc=on_dnc,
        uncounted=uncounted,
        now=NOW,
    )
    assert got == expected


def test_an_outcome_the_policy_never_retries_exhausts_at_the_first_call() -> None:
    retry = RetryPolicy(max_attempts=5, delays={Outcome.VOICEMAIL: None})
    got = next_state(
        outcome=Outcome.VOICEMAIL,
        attempts=1,
        retry=retry,
        campaign_status=ACTIVE,
        on_dnc=False,
        uncounted=False,
        now=NOW,
    )
    assert got == NextState(S.EXHAUSTED, None)


@pytest.mark.parametrize(
    ("ending", "attempts", "status", "on_dnc", "expected"),
    [
        # no call placed: not counted, back to waiting (first in line) ...
        (Ending.NOT_PLACED, 1, ACTIVE, False, NextState(S.PENDING, NOW)),
        (Ending.NOT_PLACED, 2, PAUSED, False, NextState(S.RETRY_WAIT, NOW)),
        # ... in the same order as an outcome: cancelled first, then do-not-call
        (Ending.NOT_PLACED, 1, CANCELLED, True, NextState(S.CANCELLED, None)),
        (Ending.NOT_PLACED, 1, ACTIVE, True, NextState(S.DNC, None)),
        # LiveKit refused this contact's dispatch: failed, whatever else holds
        (Ending.REJECTED, 1, ACTIVE, False, NextState(S.FAILED, None)),
        (Ending.REJECTED, 1, CANCELLED, True, NextState(S.FAILED, None)),
    ],
)
def test_endings_without_a_call(
    ending: Ending, attempts: int, status: CampaignStatus, on_dnc: bool, expected: NextState
) -> None:
    got = next_state(
        ending=ending,
        outcome=Outcome.FAILED if ending is Ending.REJECTED else None,
        attempts=attempts,
        retry=RetryPolicy(),
        campaign_status=status,
        on_dnc=on_dnc,
        uncounted=False,
        now=NOW,
    )
    assert got == expected


def test_a_release_waits_until_its_retry_time() -> None:
    got = next_state(
        ending=Ending.NOT_PLACED,
        outcome=None,
        attempts=1,
        retry=RetryPolicy(),
        campaign_status=ACTIVE,
        on_dnc=False,
        uncounted=False,
        now=NOW,
        retry_at=later(60),
    )
    assert got == NextState(S.PENDING, later(60))


def test_every_rule_leads_to_a_listed_move() -> None:
    """Each state a rule can send an in-flight contact to is in `CONTACT_MOVES`."""
    for ending in Ending:
        for outcome in [None, *Outcome]:
            if ending is Ending.OUTCOME and outcome is None:
                continue
            for status in CampaignStatus:
                for dnc in (False, True):
                    got = next_state(
                        ending=ending,
                        outcome=outcome,
                        attempts=1,
                        retry=RetryPolicy(),
                        campaign_status=status,
                        on_dnc=dnc,
                        uncounted=False,
                        now=NOW,
                    )
                    assert (S.IN_FLIGHT, got.state) in CONTACT_MOVES
