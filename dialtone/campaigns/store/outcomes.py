"""How an attempt ends, and where its contact goes next.

Each ending is one transaction: the attempt row is closed with a conditional UPDATE,
the contact is moved with another (`WHERE state = in_flight AND attempt_seq = <this
attempt>`), and the `call.outcome` event is written beside them (see `events`). The next
state itself is decided by `transitions.next_state`, a pure function.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from ...db.tables import attempts, campaigns, contacts
from ..models import AttemptStatus, CampaignSettings, CampaignStatus, ContactState, Outcome
from ..transitions import next_state
from .base import StoreBase, on_dnc
from .claims import guard
from .dnc import add_dnc
from .events import outcome_event
from .rows import BadToken, NotFound, StoreError, hash_token


class OutcomesMixin(StoreBase):
    def acquire_dial_permit(self, attempt_id: str, token: str, now: datetime) -> str | None:
        """The reminder agent asks this right before it dials; a second ask is refused.

        Returns None when the agent may dial, else why not (the attempt is then released:
        no call placed). This is the last DNC/window/pause check, at true dial time, and
        the single-use gate that stops two agents in one room from both dialling.
        """
        with self.engine.begin() as conn:
            a = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).first()
            if a is None:
                raise NotFound(f"attempt {attempt_id} not found")
            _check_token(a, token)
            if a.dial_started_at is not None:
                return "this attempt was already dialled"
            reason = guard(
                conn,
                attempt_id,
                now,
                {AttemptStatus.DISPATCHING, AttemptStatus.DISPATCHED},
                self.rules,
            )
            if reason is None:
                conn.execute(
                    update(attempts)
                    .where(attempts.c.id == attempt_id, attempts.c.dial_started_at.is_(None))
                    .values(dial_started_at=now)
                )
                return None
        self.release_attempt(
            attempt_id,
            f"refused at dial time: {reason}",
            now,
            allowed=frozenset({AttemptStatus.DISPATCHING, AttemptStatus.DISPATCHED}),
        )
        return reason

    def report_outcome(
        self,
        attempt_id: str,
        token: str | None,
        outcome: Outcome,
        detail: str,
        now: datetime,
        *,
        pause_reason: str | None = None,
    ) -> bool:
        """Record how an attempt ended and move its contact on. Idempotent per outcome.

        `token=None` is for the scheduler's own decisions (no report in time). Returns
        False for a repeat of the same report.

        `pause_reason` (a trunk, auth or codec failure: every call would hit it) pauses
        the campaign with that reason in the same transaction, and the attempt does not
        count towards the contact's `max_attempts`: the contact waits to be called again
        when an operator resumes, instead of the list burning through a broken trunk.
        """
        with self.engine.begin() as conn:
            a = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).first()
            if a is None:
                raise NotFound(f"attempt {attempt_id} not found")
            if token is not None:
                _check_token(a, token)
            if a.status == AttemptStatus.FINISHED:
                if a.outcome == outcome:
                    return False
                raise StoreError(f"attempt {attempt_id} already ended as {a.outcome}")
            if a.status not in (AttemptStatus.DISPATCHING, AttemptStatus.DISPATCHED):
                raise StoreError(f"attempt {attempt_id} is {a.status}: no call was placed")
            _end_attempt(
                conn, a, AttemptStatus.FINISHED, now, outcome=outcome, detail=detail[:2000]
            )
            if pause_reason is not None:
                _pause_if_active(conn, a.campaign_id, pause_reason, now)
            _after_outcome(conn, a, outcome, detail, now, uncounted=pause_reason is not None)
        return True

    def expire_unreported(self, now: datetime, deadline: timedelta) -> int:
        """Dispatched attempts with no outcome after `deadline` end as `unknown`."""
        with self._read() as conn:
            stale = list(
                conn.scalars(
                    select(attempts.c.id).where(
                        attempts.c.status == AttemptStatus.DISPATCHED,
                        attempts.c.dispatched_at < now - deadline,
                    )
                )
            )
        n = 0
        for attempt_id in stale:
            try:
                n += self.report_outcome(
                    attempt_id, None, Outcome.UNKNOWN, "no outcome reported in time", now
                )
            except StoreError:
                continue  # reported meanwhile
        return n

    def release_attempt(
        self,
        attempt_id: str,
        reason: str,
        now: datetime,
        *,
        retry_at: datetime | None = None,
        dispatch_failure: bool = False,
        pause_campaign: bool = False,
        allowed: frozenset[AttemptStatus] = frozenset({AttemptStatus.DISPATCHING}),
    ) -> bool:
        """No call was placed for this attempt: it does not count, the contact waits again.

        The contact ends `dnc` if its number is now on the list, `cancelled` if the
        campaign was cancelled; else it waits (`pending`, or `retry_wait` after earlier
        calls) until `retry_at`. `pause_campaign` also pauses the campaign with `reason`
        (a LiveKit configuration error every attempt would hit).
        """
        with self.engine.begin() as conn:
            a = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).first()
            if a is None or a.status not in allowed:
                return False
            _end_attempt(conn, a, AttemptStatus.NOT_DISPATCHED, now, detail=reason)
            c = conn.execute(select(contacts).where(contacts.c.id == a.contact_id)).one()
            if pause_campaign:
                _pause_if_active(conn, a.campaign_id, reason, now)
            campaign_status = conn.scalar(
                select(campaigns.c.status).where(campaigns.c.id == a.campaign_id)
            )
            values: dict[str, Any] = {"attempts": max(0, c.attempts - 1), "updated_at": now}
            if dispatch_failure:
                values["dispatch_failures"] = c.dispatch_failures + 1
            if on_dnc(conn, c.phone):
                values.update(state=ContactState.DNC, last_detail="on the do-not-call list")
            elif campaign_status == CampaignStatus.CANCELLED:
                values.update(state=ContactState.CANCELLED)
            else:
                values.update(
                    state=ContactState.PENDING if c.attempts <= 1 else ContactState.RETRY_WAIT,
                    next_at=max(now, retry_at or now),
                )
            _move_contact(conn, c.id, a.number, values)
        return True

    def reject_attempt(self, attempt_id: str, reason: str, now: datetime) -> bool:
        """LiveKit refused the dispatch for this contact: the contact ends `failed`."""
        with self.engine.begin() as conn:
            a = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).first()
            if a is None or a.status != AttemptStatus.DISPATCHING:
                return False
            _end_attempt(conn, a, AttemptStatus.REJECTED, now, detail=reason)
            _move_contact(
                conn,
                a.contact_id,
                a.number,
                {
                    "state": ContactState.FAILED,
                    "last_outcome": Outcome.FAILED,
                    "last_detail": reason,
                    "updated_at": now,
                },
            )
            c = conn.execute(select(contacts).where(contacts.c.id == a.contact_id)).one()
            spec = CampaignSettings.model_validate_json(
                conn.scalar(select(campaigns.c.spec).where(campaigns.c.id == a.campaign_id)) or "{}"
            )
            outcome_event(conn, spec, a, c, Outcome.FAILED, reason, ContactState.FAILED, now)
        return True


def _check_token(row: Any, token: str) -> None:
    digest = hash_token(token)
    if not any(hmac.compare_digest(digest, h) for h in row.token_hashes.split()):
        raise BadToken("callback token does not match this attempt")


def _after_outcome(
    conn: Connection,
    a: Any,
    outcome: Outcome,
    detail: str,
    now: datetime,
    *,
    uncounted: bool = False,
) -> None:
    """Move the contact of finished attempt row `a` on, and write `call.outcome`."""
    c = conn.execute(select(contacts).where(contacts.c.id == a.contact_id)).one()
    camp = conn.execute(
        select(campaigns.c.status, campaigns.c.spec).where(campaigns.c.id == a.campaign_id)
    ).one()
    spec = CampaignSettings.model_validate_json(camp.spec)
    values: dict[str, Any] = {
        "last_outcome": outcome,
        "last_detail": detail[:2000] or None,
        "updated_at": now,
    }
    if uncounted:
        values["attempts"] = max(0, c.attempts - 1)
    step = next_state(
        outcome=outcome,
        attempts=c.attempts,
        retry=spec.retry,
        campaign_status=CampaignStatus(camp.status),
        on_dnc=on_dnc(conn, c.phone),
        uncounted=uncounted,
        now=now,
    )
    values["state"] = step.state
    if step.next_at is not None:
        values["next_at"] = step.next_at
    if outcome is Outcome.OPTED_OUT:
        # The evidence (the words heard or the key pressed) goes with the listing.
        add_dnc(conn, [c.phone], f"opted out during attempt {a.id}: {detail[:500]}", now)
    moved = _move_contact(conn, c.id, a.number, values)
    state = values["state"] if moved else c.state
    outcome_event(conn, spec, a, c, outcome, detail, state, now)


def _move_contact(conn: Connection, contact_id: int, number: int, values: dict[str, Any]) -> bool:
    """The contact's one conditional UPDATE: only while attempt `number` holds it in flight."""
    moved = conn.execute(
        update(contacts)
        .where(
            contacts.c.id == contact_id,
            contacts.c.state == ContactState.IN_FLIGHT,
            contacts.c.attempt_seq == number,
        )
        .values(**values)
    )
    return moved.rowcount == 1


def _end_attempt(
    conn: Connection, a: Any, status: AttemptStatus, now: datetime, **values: Any
) -> None:
    """Close attempt row `a` as read in this transaction; its lease ends with it.

    Conditional on the status still being the one read, like every transition here.
    """
    conn.execute(
        update(attempts)
        .where(attempts.c.id == a.id, attempts.c.status == a.status)
        .values(status=status, finished_at=now, lease_until=None, **values)
    )


def _pause_if_active(conn: Connection, campaign_id: str, reason: str, now: datetime) -> None:
    """Pause a campaign for a reason every further call would hit (a broken trunk)."""
    conn.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.status == CampaignStatus.ACTIVE)
        .values(status=CampaignStatus.PAUSED, status_reason=reason[:2000], updated_at=now)
    )
