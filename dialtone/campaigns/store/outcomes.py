"""How an attempt ends, and where its contact goes next.

Every ending (the agent's report, the server settling an unreported attempt, a release
when no call was placed, a rejection by LiveKit) goes through `_end`: ONE conditional
UPDATE of the attempt row (`WHERE status IN <the ending's from-statuses>`, and for "no
call placed" also `dial_started_at IS NULL`) whose row count decides. Only the
transaction that changed the row moves the contact (`WHERE state = in_flight AND
attempt_seq = <this attempt>`) and writes the `call.outcome` event; a second ending of
the same attempt changes nothing and emits nothing. Where the contact goes is decided
by `transitions`, one table.

The dial permit is a compare-and-set bound to the asking job: `dial_started_at` and
`dial_job_id` are set together, only while `dial_started_at IS NULL`; the same job
asking again is allowed again (its first answer was lost: it cannot have dialled),
any other job is refused.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from ...db.tables import attempts, call_records, campaigns, contacts
from ...faults import fault_point
from ...telephony.sip_status import ROWS, classify_sip_status
from ...wire import CallOutcome
from ..models import AttemptStatus, CampaignSettings, CampaignStatus, ContactState, Outcome
from ..policy.ledger import note_abandonment
from ..transitions import ATTEMPT_ENDINGS, EMITS_EVENT, Ending, counts, next_state
from .base import StoreBase, on_dnc
from .claims import guard, take_dial_slot
from .deadlines import DEFAULT_BUDGET_SECONDS, LEGACY_DEADLINE
from .dnc import add_dnc
from .events import outcome_event
from .rows import BadToken, NotFound, StoreError, hash_token

_LIVE = frozenset({AttemptStatus.DISPATCHING, AttemptStatus.DISPATCHED})


@dataclass(frozen=True)
class PermitAnswer:
    """The permit's answer: allowed or why not; `report_by`: the attempt's deadline."""

    allowed: bool
    reason: str | None = None
    report_by: datetime | None = None
    #: when the agent may dial: the trunk's shared dial pace (None: at once); an agent
    #: waking more than `pace.LATE_TOLERANCE` after it asks again for a fresh slot
    dial_at: datetime | None = None


class OutcomesMixin(StoreBase):
    def acquire_dial_permit(
        self,
        attempt_id: str,
        token: str,
        now: datetime,
        *,
        job_id: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> PermitAnswer:
        """The reminder agent asks this right before it dials; see the module docstring.

        This is also the last DNC/window/pause check, at true dial time; a refusal there
        releases the attempt (no call placed, not counted). `job_id` is the asking
        LiveKit job; without one (an older agent) a repeat is always refused. Every
        grant, a repeat included, names a fresh dial slot on the trunk's shared pace
        (read on `clock`, once the slot's row is locked): the holder asking again lost
        its answer or missed its slot, and has not dialled.
        """
        slot_clock = clock or (lambda: now)
        with self.engine.begin() as conn:
            a = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).first()
            if a is None:
                raise NotFound(f"attempt {attempt_id} not found")
            _check_token(a, token)
            if a.dial_started_at is not None:
                return _repeat(conn, a, job_id, slot_clock)
            reason = guard(conn, attempt_id, now, set(_LIVE), self.rules)
            if reason is None:
                deadline = now + timedelta(seconds=a.budget_seconds or DEFAULT_BUDGET_SECONDS)
                won = conn.execute(
                    update(attempts)
                    .where(
                        attempts.c.id == attempt_id,
                        attempts.c.status.in_(_LIVE),
                        attempts.c.dial_started_at.is_(None),
                    )
                    .values(dial_started_at=now, dial_job_id=job_id, deadline_at=deadline)
                ).rowcount
                if won != 1:  # another job's permit committed first
                    again = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).one()
                    return _repeat(conn, again, job_id, slot_clock)
                dial_at = take_dial_slot(conn, a.trunk, slot_clock)
        if reason is None:
            fault_point("permit_committed")  # committed; the answer not yet sent
            return PermitAnswer(True, report_by=deadline, dial_at=dial_at)
        self.release_attempt(
            attempt_id, f"refused at dial time: {reason}", now, allowed=frozenset(_LIVE)
        )
        return PermitAnswer(False, reason)

    def report_outcome(
        self,
        attempt_id: str,
        token: str | None,
        outcome: Outcome,
        detail: str,
        now: datetime,
        *,
        pause_reason: str | None = None,
        abandoned: bool | None = None,
    ) -> bool:
        """Record how an attempt ended and move its contact on. Idempotent per outcome.

        `token=None` is for the scheduler's own decisions. Returns False for a repeat of
        the same report (or of an ending that already happened the same way).

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
            ended = _end(
                conn,
                attempt_id,
                Ending.OUTCOME,
                now,
                outcome=outcome,
                detail=detail,
                pause_reason=pause_reason,
            )
            if ended and abandoned is not None:  # a person answered (calling policy)
                note_abandonment(
                    conn, a.id, a.campaign_id, abandoned, now, self.rules.abandoned_max_rate
                )
            now_row = (
                None
                if ended
                else conn.execute(select(attempts).where(attempts.c.id == attempt_id)).one()
            )
        if now_row is None:
            fault_point("outcome_committed")  # committed; the answer not yet sent
            return True
        if now_row.status == AttemptStatus.FINISHED:
            if now_row.outcome == outcome:
                return False
            raise StoreError(f"attempt {attempt_id} already ended as {now_row.outcome}")
        raise StoreError(f"attempt {attempt_id} is {now_row.status}: no call was placed")

    def record_opt_out(
        self, attempt_id: str, token: str, now: datetime, *, evidence: str = ""
    ) -> bool:
        """The callee said "stop calling me": their number goes on the do-not-call list now.

        The agent calls this the moment it hears the opt-out, before the call ends and
        apart from its outcome report, so a report that never arrives cannot lose it.
        Idempotent: True only when the number was newly listed.
        """
        with self.engine.begin() as conn:
            a = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).first()
            if a is None:
                raise NotFound(f"attempt {attempt_id} not found")
            _check_token(a, token)
            phone = conn.scalar(select(contacts.c.phone).where(contacts.c.id == a.contact_id))
            reason = f"opted out during attempt {a.id}" + (f": {evidence}" if evidence else "")
            return add_dnc(conn, [str(phone)], reason, now) == 1

    def expire_unreported(self, now: datetime, legacy: timedelta = LEGACY_DEADLINE) -> int:
        """Dispatched attempts past their deadline with no report: settle each from what
        the server knows (`settle_unreported`). `legacy`: the deadline of attempts
        written before per-attempt deadlines. Returns how many this call ended."""
        with self._read() as conn:
            stale = list(
                conn.scalars(
                    select(attempts.c.id).where(
                        attempts.c.status == AttemptStatus.DISPATCHED,
                        or_(
                            attempts.c.deadline_at < now,
                            and_(
                                attempts.c.deadline_at.is_(None),
                                attempts.c.dispatched_at < now - legacy,
                            ),
                        ),
                    )
                )
            )
        return sum(self.settle_unreported(attempt_id, now) for attempt_id in stale)

    def room_finished(self, attempt_id: str, now: datetime, grace: timedelta) -> bool:
        """LiveKit closed the attempt's room (its webhook): no agent is left in it.

        A report still to come is one already being retried, so the attempt's deadline
        moves to `grace` from now (never later than it was), and the scheduler's next
        expiry after it settles the attempt from what the server knows, instead of
        waiting for the longest call the persona allows. One conditional UPDATE on a
        `dispatched` attempt: an attempt already ended, or still being dispatched,
        does not change. True if the deadline moved.
        """
        until = now + grace
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(attempts)
                .where(
                    attempts.c.id == attempt_id,
                    attempts.c.status == AttemptStatus.DISPATCHED,
                    or_(attempts.c.deadline_at.is_(None), attempts.c.deadline_at > until),
                )
                .values(deadline_at=until)
            ).rowcount
        return moved == 1

    def settle_unreported(self, attempt_id: str, now: datetime) -> bool:
        """End an attempt whose report never came, from what the server knows.

        Never dialled (no permit taken): no call was placed, so it is not charged and
        the contact waits again. Dialled: the outcome comes from the call record the
        agent wrote (its SIP result, answered or not); with no record, `unknown`.
        False if it had ended meanwhile (a late report won: nothing changes).
        """
        with self.engine.begin() as conn:
            a = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).first()
            if a is None or a.status not in _LIVE:
                return False
            if a.dial_started_at is None:
                return (
                    _end(
                        conn,
                        attempt_id,
                        Ending.NOT_PLACED,
                        now,
                        detail="never dialled: the agent did not take its dial permit in time",
                    )
                    is not None
                )
            outcome, detail = _from_call_record(conn, attempt_id)
            ended = _end(conn, attempt_id, Ending.OUTCOME, now, outcome=outcome, detail=detail)
            return ended is not None

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

        Where the contact goes follows `transitions` (cancelled, then do-not-call, else
        waiting until `retry_at`). `pause_campaign` also pauses the campaign with
        `reason` (a LiveKit configuration error every attempt would hit). Never releases
        an attempt whose dial permit was taken.
        """
        with self.engine.begin() as conn:
            return (
                _end(
                    conn,
                    attempt_id,
                    Ending.NOT_PLACED,
                    now,
                    allowed=allowed,
                    detail=reason,
                    retry_at=retry_at,
                    dispatch_failure=dispatch_failure,
                    pause_reason=reason if pause_campaign else None,
                )
                is not None
            )

    def reject_attempt(self, attempt_id: str, reason: str, now: datetime) -> bool:
        """LiveKit refused the dispatch for this contact: the contact ends `failed`."""
        with self.engine.begin() as conn:
            return (
                _end(conn, attempt_id, Ending.REJECTED, now, outcome=Outcome.FAILED, detail=reason)
                is not None
            )


def _repeat(
    conn: Connection, a: Any, job_id: str | None, clock: Callable[[], datetime]
) -> PermitAnswer:
    """A permit asked for an attempt already dialled: allowed only to the job holding it,
    with a fresh dial slot (it lost its answer or missed its slot: it has not dialled)."""
    if job_id is not None and a.dial_job_id == job_id and a.status in _LIVE:
        dial_at = take_dial_slot(conn, a.trunk, clock)
        return PermitAnswer(True, report_by=a.deadline_at, dial_at=dial_at)
    return PermitAnswer(False, "this attempt was already dialled")


def _check_token(row: Any, token: str) -> None:
    digest = hash_token(token)
    if not any(hmac.compare_digest(digest, h) for h in row.token_hashes.split()):
        raise BadToken("callback token does not match this attempt")


_RECORD_OUTCOMES = {
    CallOutcome.VOICEMAIL: Outcome.VOICEMAIL,
    CallOutcome.BUSY: Outcome.BUSY,
    CallOutcome.NO_ANSWER: Outcome.NO_ANSWER,
    CallOutcome.DECLINED: Outcome.DECLINED,
    CallOutcome.INVALID_NUMBER: Outcome.INVALID_NUMBER,
}


def _from_call_record(conn: Connection, attempt_id: str) -> tuple[Outcome, str]:
    """What the call record of a dialled attempt says, as a campaign outcome.

    A SIP final status before any answer maps like the agent's own dial failure; a call
    that rang out, was busy or reached voicemail says so; an answered call that ended
    normally is `completed` (an opt-out during it was written at once, on its own); an
    answered call cut short, or no record at all, is `unknown`.
    """
    r = conn.execute(
        select(
            call_records.c.outcome,
            call_records.c.answered_at,
            call_records.c.sip_status_code,
            call_records.c.status,
        )
        .where(call_records.c.attempt_id == attempt_id)
        .order_by(call_records.c.started_at.desc())
        .limit(1)
    ).first()
    prefix = "no outcome reported in time"
    if r is None:
        return Outcome.UNKNOWN, f"{prefix}; no call record"
    if r.outcome in _RECORD_OUTCOMES:
        found = _RECORD_OUTCOMES[CallOutcome(r.outcome)]
        return found, f"{prefix}; the call record says {r.outcome}"
    if r.answered_at is None and r.sip_status_code is not None:
        meaning = ROWS[classify_sip_status(int(r.sip_status_code))]
        return meaning.campaign, f"{prefix}; the call record has SIP {r.sip_status_code}"
    if r.answered_at is not None and r.outcome == CallOutcome.COMPLETED:
        return Outcome.COMPLETED, f"{prefix}; the call record says answered and completed"
    return Outcome.UNKNOWN, f"{prefix}; the call record says {r.outcome or r.status}"


def _end(
    conn: Connection,
    attempt_id: str,
    ending: Ending,
    now: datetime,
    *,
    allowed: frozenset[AttemptStatus] | None = None,
    outcome: Outcome | None = None,
    detail: str = "",
    retry_at: datetime | None = None,
    dispatch_failure: bool = False,
    pause_reason: str | None = None,
) -> Any | None:
    """End an attempt as `ending`, in the caller's transaction; see the module docstring.

    Returns the ended attempt row, or None when this UPDATE changed nothing (it had
    ended already, or, for "no call placed", its dial permit was taken).
    """
    sources, target = ATTEMPT_ENDINGS[ending]
    if allowed is not None:
        sources = sources & allowed
    where = [attempts.c.id == attempt_id, attempts.c.status.in_(sources)]
    if ending is Ending.NOT_PLACED:
        where.append(attempts.c.dial_started_at.is_(None))
    detail = detail[:2000]
    a = conn.execute(
        update(attempts)
        .where(*where)
        .values(
            status=target,
            finished_at=now,
            lease_until=None,
            outcome=None if ending is Ending.NOT_PLACED else outcome,
            detail=detail,
        )
        .returning(*attempts.c)
    ).first()
    if a is None:
        return None
    if pause_reason is not None:
        _pause_if_active(conn, a.campaign_id, pause_reason, now)
    c = conn.execute(select(contacts).where(contacts.c.id == a.contact_id)).one()
    camp = conn.execute(
        select(campaigns.c.status, campaigns.c.spec).where(campaigns.c.id == a.campaign_id)
    ).one()
    spec = CampaignSettings.model_validate_json(camp.spec)
    uncounted = pause_reason is not None and ending is Ending.OUTCOME
    listed = on_dnc(conn, c.phone)
    step = next_state(
        ending=ending,
        outcome=outcome,
        attempts=c.attempts,
        retry=spec.retry,
        campaign_status=CampaignStatus(camp.status),
        on_dnc=listed,
        uncounted=uncounted,
        now=now,
        retry_at=retry_at,
    )
    values: dict[str, Any] = {"state": step.state, "updated_at": now}
    if step.next_at is not None:
        values["next_at"] = step.next_at
    if ending is Ending.NOT_PLACED:
        if step.state is ContactState.DNC:
            values["last_detail"] = "on the do-not-call list"
    else:
        values.update(last_outcome=outcome, last_detail=detail or None)
    if not counts(ending, uncounted):
        values["attempts"] = max(0, c.attempts - 1)
    if dispatch_failure:
        values["dispatch_failures"] = c.dispatch_failures + 1
    if outcome is Outcome.OPTED_OUT and ending is Ending.OUTCOME:
        # The evidence (the words heard or the key pressed) goes with the listing.
        add_dnc(conn, [c.phone], f"opted out during attempt {a.id}: {detail[:500]}", now)
    moved = _move_contact(conn, c.id, a.number, values)
    if ending in EMITS_EVENT:
        state = step.state if moved else c.state
        outcome_event(conn, spec, a, c, outcome or Outcome.FAILED, detail, state, now)
    return a


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


def _pause_if_active(conn: Connection, campaign_id: str, reason: str, now: datetime) -> None:
    """Pause a campaign for a reason every further call would hit (a broken trunk)."""
    conn.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.status == CampaignStatus.ACTIVE)
        .values(status=CampaignStatus.PAUSED, status_reason=reason[:2000], updated_at=now)
    )
