"""Durable campaign state: campaigns, contacts, attempts, the do-not-call list.

`CampaignStore` is composed of one mixin per concern: `creation` (a campaign and its
contacts, idempotency), `claims` (claiming due contacts, leases, the dispatch guard),
`outcomes` (how an attempt ends, the dial permit), `status` (pause, resume, cancel,
completion), `reads`, `dnc`; `events` writes the webhook events into the outbox in the
transaction that causes them, and `rows` holds the types callers see.

The contact state machine (`ContactState`):

    pending --claim--> in_flight --outcome--> retry_wait --claim--> in_flight ...
                           |                                 \\--> exhausted
                           +--> completed | failed | dnc | cancelled | exhausted

Every transition is one conditional UPDATE (`WHERE state = <seen> AND attempt_seq =
<seen>`), so two schedulers, or a scheduler and an API request, can never both move a
contact: the loser's UPDATE matches no row.

The claim protocol (`claim_due` -> `_claim_batch`): in ONE transaction per batch of up
to `CLAIM_CHUNK` due contacts, take the claim lock row (serialises claimers on
PostgreSQL; SQLite transactions here are `BEGIN IMMEDIATE` and already serial), re-read
the campaign status, compute what the global and per-campaign concurrency, the daily cap
and the per-trunk pace still allow, mark DNC-listed numbers, move that many contacts to
`in_flight` with one conditional UPDATE ... RETURNING (a contact changed meanwhile is not
returned, so not claimed), and INSERT their attempts with status `dispatching`. Only
after that commits does the dialer call LiveKit, so a crash leaves `dispatching` rows
whose lease expires (the dialer renews it every tick while alive, so a dead replica's
claims are taken over within seconds); `take_over_abandoned` hands them to a dialer
again, which first looks for the attempt's room (`dt-attempt-<id>`) at LiveKit. `UNIQUE (contact_id,
number)` makes a second row for the same attempt impossible.

An attempt counts towards `max_attempts` (`contacts.attempts`) unless it is certain no
call was placed (`release_attempt`: refused at dial time, or LiveKit certainly created
nothing); its row stays, numbered by `contacts.attempt_seq`.
"""

from __future__ import annotations

from .claims import CLAIM_CHUNK, MAX_TOKEN_HASHES, ClaimsMixin
from .creation import INSERT_CHUNK, CreationMixin
from .dnc import DncMixin
from .outcomes import OutcomesMixin, PermitAnswer
from .reads import ReadsMixin
from .rows import (
    AttemptRow,
    BadToken,
    CampaignRow,
    Claim,
    ClaimLimits,
    ClaimRefusal,
    IdempotencyMismatch,
    NotFound,
    Progress,
    ResultRow,
    StoreError,
    hash_token,
)
from .status import StatusMixin

__all__ = [
    "CLAIM_CHUNK",
    "INSERT_CHUNK",
    "MAX_TOKEN_HASHES",
    "AttemptRow",
    "BadToken",
    "CampaignRow",
    "CampaignStore",
    "Claim",
    "ClaimLimits",
    "ClaimRefusal",
    "IdempotencyMismatch",
    "NotFound",
    "PermitAnswer",
    "Progress",
    "ResultRow",
    "StoreError",
    "hash_token",
]


class CampaignStore(CreationMixin, ClaimsMixin, OutcomesMixin, StatusMixin, ReadsMixin, DncMixin):
    """Synchronous; async callers use `asyncio.to_thread`. Every method takes `now`."""
