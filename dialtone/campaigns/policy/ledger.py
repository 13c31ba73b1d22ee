"""The policy's view of the database: a number's calls, a contact's location, refusals.

`decide` is pure; this module gathers its inputs inside the caller's transaction (so the
claim lock that serialises claimers also serialises what they read here) and writes
what it answered: a refused contact waits until the instant the policy named, and the
refusal is counted per campaign and reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ...db.tables import attempts, campaigns, contacts, policy_refusals
from ..models import AttemptStatus, CallingWindow, CampaignStatus, Outcome
from .decide import HORIZON, Decision, decide
from .location import CalleeLocation, resolve
from .rules import CallingRules

#: Calls older than this never matter (the longest rolling cap is a week).
LOOKBACK = timedelta(days=8)
#: Attempts that certainly placed no call do not count as calls: never dispatched,
#: refused by LiveKit, or ended by a failure on our side (trunk, auth, network) or a
#: number that does not exist, which ring no phone.
NOT_CALLS = (AttemptStatus.NOT_DISPATCHED, AttemptStatus.REJECTED)
RANG_NO_PHONE = (Outcome.FAILED, Outcome.INVALID_NUMBER)


def histories(
    conn: Connection, phones: Sequence[str], now: datetime, *, exclude: str | None = None
) -> dict[str, list[datetime]]:
    """Each number's calls since `now - LOOKBACK`, across every campaign.

    A call's instant is when its agent started dialling, else when it was claimed (a
    claimed call counts at once: two campaigns must not both take one number). `exclude`
    leaves out the attempt asking (the dial permit's own attempt).
    """
    found: dict[str, list[datetime]] = defaultdict(list)
    at = func.coalesce(attempts.c.dial_started_at, attempts.c.created_at)
    for start in range(0, len(phones), 500):
        query = (
            select(contacts.c.phone, at.label("at"))
            .join(attempts, attempts.c.contact_id == contacts.c.id)
            .where(
                contacts.c.phone.in_(phones[start : start + 500]),
                attempts.c.created_at >= now - LOOKBACK,
                attempts.c.status.not_in(NOT_CALLS),
                or_(attempts.c.outcome.is_(None), attempts.c.outcome.not_in(RANG_NO_PHONE)),
            )
        )
        if exclude is not None:
            query = query.where(attempts.c.id != exclude)
        for phone, instant in conn.execute(query):
            found[phone].append(instant)
    return found


def location_of(contact: Any, campaign_zone: str) -> CalleeLocation:
    """A stored contact's location; one stored before locations were (null country and
    source) is read from its number, keeping its stored zone."""
    if contact.location_source:
        return CalleeLocation(
            zone=contact.timezone,
            country=contact.country,
            region=contact.region,
            source=contact.location_source,
        )
    return resolve(
        phone=contact.phone,
        zone=contact.timezone,
        country=None,
        region=None,
        campaign_zone=campaign_zone,
    )


def decide_for(
    conn: Connection,
    contact: Any,
    window: CallingWindow,
    campaign_zone: str,
    rules: CallingRules,
    now: datetime,
    *,
    exclude: str | None = None,
) -> Decision:
    """The policy's answer for one stored contact row, its history read in `conn`."""
    calls = histories(conn, [contact.phone], now, exclude=exclude).get(contact.phone, [])
    return decide(
        location=location_of(contact, campaign_zone),
        window=window,
        history=calls,
        now=now,
        rules=rules,
    )


def hold_back(
    conn: Connection,
    campaign_id: str,
    window: CallingWindow,
    campaign_zone: str,
    rules: CallingRules,
    candidates: Sequence[Any],
    now: datetime,
) -> set[int]:
    """Ask the policy about each candidate contact row; the refused wait.

    Returns the ids of the contacts refused now. Each is moved to the instant the policy
    named with a conditional UPDATE (unchanged since read), so it is not asked again
    every tick; each refusal is counted under its reason.
    """
    calls = histories(conn, [c.phone for c in candidates], now)
    refused: dict[int, Decision] = {}
    for contact in candidates:
        decision = decide(
            location=location_of(contact, campaign_zone),
            window=window,
            history=calls.get(contact.phone, []),
            now=now,
            rules=rules,
        )
        if not decision.allowed:
            refused[contact.id] = decision
    by_id = {c.id: c for c in candidates}
    counts: dict[str, int] = defaultdict(int)
    for contact_id, decision in refused.items():
        contact = by_id[contact_id]
        conn.execute(
            update(contacts)
            .where(
                contacts.c.id == contact_id,
                contacts.c.state == contact.state,
                contacts.c.attempt_seq == contact.attempt_seq,
            )
            .values(next_at=decision.not_before or now + HORIZON, updated_at=now)
        )
        assert decision.reason is not None
        counts[decision.reason.value] += 1
    for reason, n in counts.items():
        count_refusal(conn, campaign_id, reason, n)
    return set(refused)


def count_refusal(conn: Connection, campaign_id: str, reason: str, n: int = 1) -> None:
    """Add `n` to the campaign's count for `reason` (an upsert on either database)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(policy_refusals).values(campaign_id=campaign_id, reason=reason, n=n)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[policy_refusals.c.campaign_id, policy_refusals.c.reason],
            set_={"n": policy_refusals.c.n + n},
        )
    )


def refusal_counts(conn: Connection, campaign_id: str) -> dict[str, int]:
    return {
        str(reason): int(n)
        for reason, n in conn.execute(
            select(policy_refusals.c.reason, policy_refusals.c.n).where(
                policy_refusals.c.campaign_id == campaign_id
            )
        )
    }


def region_keys(conn: Connection, campaign_id: str) -> list[tuple[str | None, str | None]]:
    """The distinct (country, region) pairs among a campaign's located contacts."""
    return [
        (r.country, r.region)
        for r in conn.execute(
            select(contacts.c.country, contacts.c.region)
            .where(contacts.c.campaign_id == campaign_id)
            .distinct()
            .limit(200)
        )
    ]


#: The window abandonment is measured over (per campaign).
ABANDON_PERIOD = timedelta(hours=24)


@dataclass(frozen=True)
class Abandonment:
    """A campaign's calls a person answered in the last 24 h, and how many were abandoned."""

    answered: int
    abandoned: int

    @property
    def rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0


def abandonment(conn: Connection, campaign_id: str, now: datetime) -> Abandonment:
    rows: dict[bool, int] = dict(
        conn.execute(  # type: ignore[arg-type]
            select(attempts.c.abandoned, func.count())
            .where(
                attempts.c.campaign_id == campaign_id,
                attempts.c.abandoned.is_not(None),
                attempts.c.finished_at > now - ABANDON_PERIOD,
            )
            .group_by(attempts.c.abandoned)
        ).all()
    )
    abandoned = int(rows.get(True, 0))
    return Abandonment(answered=abandoned + int(rows.get(False, 0)), abandoned=abandoned)


def note_abandonment(
    conn: Connection,
    attempt_id: str,
    campaign_id: str,
    abandoned: bool,
    now: datetime,
    max_rate: float,
) -> bool:
    """Record whether a person-answered call was abandoned; pause the campaign when its
    24-hour rate is now above `max_rate`. In the outcome's transaction. True: paused."""
    conn.execute(update(attempts).where(attempts.c.id == attempt_id).values(abandoned=abandoned))
    if not abandoned:
        return False
    seen = abandonment(conn, campaign_id, now)
    if seen.rate <= max_rate:
        return False
    reason = (
        f"abandoned calls {seen.abandoned} of {seen.answered} answered in 24 hours "
        f"({seen.rate:.1%}) exceed {max_rate:.1%}: check the agent's speed to speak, "
        "then resume"
    )
    paused = conn.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.status == CampaignStatus.ACTIVE)
        .values(status=CampaignStatus.PAUSED, status_reason=reason, updated_at=now)
    )
    return paused.rowcount == 1


def abandoned_rates(conn: Connection, now: datetime) -> dict[str, Abandonment]:
    """Every active campaign's abandonment in the last 24 h (the Prometheus gauge)."""
    found: dict[str, Abandonment] = {}
    for campaign_id in conn.scalars(
        select(campaigns.c.id).where(campaigns.c.status == CampaignStatus.ACTIVE)
    ):
        found[campaign_id] = abandonment(conn, campaign_id, now)
    return found
