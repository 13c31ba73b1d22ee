"""What the store hands out and what it raises: frozen rows, the claim limits, errors.

Kept apart from the SQL so the scheduler, the dialer and the HTTP views can name these
types without reading how they are stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ..models import CampaignSettings, CampaignStatus


def hash_token(token: str) -> str:
    """Only hashes of callback tokens are stored: a database reader cannot report outcomes."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ClaimLimits:
    """Limits the scheduler holds across every campaign (not per campaign)."""

    global_max_concurrent: int = 20
    calls_per_second: float = 1.0  # per outbound trunk
    pace_horizon: timedelta = timedelta(seconds=1)  # hand out slots this far ahead
    lease: timedelta = timedelta(seconds=15)  # renewed by a live dialer every tick
    batch: int = 500
    #: seconds an attempt of a persona may take once dialled: ring timeout + the
    #: persona's `max_call_seconds` + a margin (its outcome deadline); None: the defaults
    budget: Callable[[str], int] | None = None


@dataclass(frozen=True)
class Claim:
    """An attempt written as `dispatching`, ready for the dialer."""

    attempt_id: str
    number: int
    room: str
    campaign_id: str
    contact_id: int
    phone: str
    name: str
    timezone: str
    variables: dict[str, Any]
    persona: str
    outbound_trunk: str
    caller_id: str
    callback_token: str = field(repr=False)
    dispatch_at: datetime
    resumed: bool = False  # taken over after a crash or a dialer that gave up


class ClaimRefusal(StrEnum):
    INACTIVE = "campaign not active"
    GLOBAL_FULL = "global concurrency reached"
    CAMPAIGN_FULL = "campaign concurrency reached"
    DAILY_CAP = "daily cap reached"
    PACED = "trunk pace"
    DNC = "on the do-not-call list"
    LOST = "changed by someone else"


@dataclass(frozen=True)
class CampaignRow:
    id: str
    kind: str
    name: str
    status: CampaignStatus
    status_reason: str | None
    settings: CampaignSettings
    contact_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Progress:
    campaign: CampaignRow
    contacts: dict[str, int]
    outcomes: dict[str, int]
    attempts: int
    calls_today: int


@dataclass(frozen=True)
class AttemptRow:
    id: str
    campaign_id: str
    contact_id: int
    phone: str
    number: int
    room: str
    status: str
    outcome: str | None
    detail: str | None
    created_at: datetime
    dispatched_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class ResultRow:
    row: int
    phone: str
    name: str
    timezone: str
    state: str
    attempts: int
    last_outcome: str | None
    last_detail: str | None
    variables: dict[str, Any]
    updated_at: datetime


class StoreError(Exception):
    """A request the current state does not allow (the API answers 409)."""


class NotFound(StoreError):
    pass


class BadToken(StoreError):
    pass


class IdempotencyMismatch(StoreError):
    pass
