"""Claiming contacts for the dialer, and the attempt's life until LiveKit has it.

The claim protocol (`claim_due` -> `_claim_batch`) is described in the package
docstring; the attempts it writes are `dispatching` until `mark_dispatched`, or until
their lease runs out and `take_over_abandoned` hands them to another dialer.
"""

from __future__ import annotations

import json
import math
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ...db.tables import attempts, campaigns, claim_lock, contacts, trunk_pace, trunk_sends
from ...wire import room_for
from ..models import WAITING_STATES, AttemptStatus, CampaignSettings, CampaignStatus, ContactState
from ..pace import DIAL_LEAD
from ..policy import CallingRules
from ..policy.ledger import decide_for, hold_back
from ..windows import local_day_start
from .base import StoreBase, calls_since, dnc_among, on_dnc
from .deadlines import AGENT_START_MARGIN, DEFAULT_BUDGET_SECONDS
from .rows import Claim, ClaimLimits, ClaimRefusal, hash_token

MAX_TOKEN_HASHES = 4
CLAIM_CHUNK = 100  # contacts claimed per transaction at most


class ClaimsMixin(StoreBase):
    _round_robin = 0  # which active campaign goes first on the next tick

    def claim_due(self, now: datetime, limits: ClaimLimits) -> list[Claim]:
        """Claim every contact that may be called now, within every limit."""
        with self._read() as conn:
            active = list(
                conn.execute(
                    select(campaigns.c.id, campaigns.c.spec)
                    .where(campaigns.c.status == CampaignStatus.ACTIVE)
                    .order_by(campaigns.c.created_at, campaigns.c.id)
                )
            )
        if not active:
            return []
        # Start with a different campaign each tick so a full global cap is shared.
        self._round_robin = (self._round_robin + 1) % len(active)
        active = active[self._round_robin :] + active[: self._round_robin]
        claims: list[Claim] = []
        paced: set[str] = set()
        for campaign_row in active:
            spec = CampaignSettings.model_validate_json(campaign_row.spec)
            if spec.outbound_trunk in paced:
                continue
            refusal = self._claim_campaign(campaign_row.id, spec, now, limits, claims)
            if refusal is ClaimRefusal.GLOBAL_FULL:
                break
            if refusal is ClaimRefusal.PACED:
                paced.add(spec.outbound_trunk)
        return claims

    def _claim_campaign(
        self,
        campaign_id: str,
        spec: CampaignSettings,
        now: datetime,
        limits: ClaimLimits,
        claims: list[Claim],
    ) -> ClaimRefusal | None:
        with self._read() as conn:
            due = list(
                conn.execute(
                    select(contacts)
                    .where(
                        contacts.c.campaign_id == campaign_id,
                        contacts.c.state.in_(WAITING_STATES),
                        contacts.c.next_at <= now,
                    )
                    .order_by(contacts.c.next_at, contacts.c.id)
                    .limit(limits.batch)
                )
            )
        # Every due contact goes to `_claim_batch`, which asks the calling policy under
        # the claim lock (window, legal hours, holidays, caps across campaigns).
        open_now = due
        refusal: ClaimRefusal | None = None
        for start in range(0, len(open_now), CLAIM_CHUNK):
            got, refusal = self._claim_batch(
                campaign_id, spec, open_now[start : start + CLAIM_CHUNK], now, limits
            )
            claims.extend(got)
            if refusal is not None:
                break
        return refusal

    def _claim_batch(
        self,
        campaign_id: str,
        spec: CampaignSettings,
        candidates: Sequence[Any],
        now: datetime,
        limits: ClaimLimits,
    ) -> tuple[list[Claim], ClaimRefusal | None]:
        """Claim up to every candidate in ONE transaction, within every limit.

        Under the claim lock: re-read the campaign status, compute how many calls the
        global and campaign concurrency, the daily cap and the trunk's pace still allow,
        move that many contacts to `in_flight` with one conditional UPDATE ... RETURNING
        (a contact cancelled, DNC-listed or claimed meanwhile is simply not returned),
        and INSERT their attempts as `dispatching`. Returns the claims and the limit that
        stopped it, if one did.
        """
        interval = timedelta(seconds=1 / limits.calls_per_second)
        picked: list[Any] = []
        refusal: ClaimRefusal | None = None
        rows: list[dict[str, Any]] = []
        tokens: dict[int, str] = {}
        with self.engine.begin() as conn:
            _lock_claims(conn)
            status = conn.scalar(select(campaigns.c.status).where(campaigns.c.id == campaign_id))
            if status != CampaignStatus.ACTIVE:
                return [], ClaimRefusal.INACTIVE
            in_flight = contacts.c.state == ContactState.IN_FLIGHT
            everywhere = conn.scalar(select(func.count()).where(in_flight)) or 0
            here = (
                conn.scalar(
                    select(func.count()).where(in_flight, contacts.c.campaign_id == campaign_id)
                )
                or 0
            )
            day_start = local_day_start(ZoneInfo(spec.timezone), now)
            today = calls_since(conn, campaign_id, day_start)
            current = conn.scalar(
                select(trunk_pace.c.next_slot_at).where(trunk_pace.c.trunk == spec.outbound_trunk)
            )
            first_slot = now if current is None or current < now else current
            room = {
                ClaimRefusal.GLOBAL_FULL: limits.global_max_concurrent - everywhere,
                ClaimRefusal.CAMPAIGN_FULL: spec.max_concurrent - here,
                ClaimRefusal.DAILY_CAP: spec.daily_cap - today,
                ClaimRefusal.PACED: (
                    int((now + limits.pace_horizon - first_slot) / interval + 1e-9) + 1
                    if first_slot <= now + limits.pace_horizon
                    else 0
                ),
            }
            blocked = dnc_among(conn, [c.phone for c in candidates])
            callable_now = [c for c in candidates if c.phone not in blocked]
            held = hold_back(
                conn, campaign_id, spec.window, spec.timezone, self.rules, callable_now, now
            )
            if blocked:
                conn.execute(
                    update(contacts)
                    .where(
                        contacts.c.id.in_([c.id for c in candidates if c.phone in blocked]),
                        contacts.c.state.in_(WAITING_STATES),
                    )
                    .values(
                        state=ContactState.DNC,
                        last_detail="on the do-not-call list",
                        updated_at=now,
                    )
                )
            allowed = [c for c in candidates if c.phone not in blocked and c.id not in held]
            limit, binding = min((n, why) for why, n in room.items())
            if limit < len(allowed):
                refusal = binding
                allowed = allowed[: max(0, limit)]
            if not allowed:
                return [], refusal
            moved = {
                r.id: r.attempt_seq
                for r in conn.execute(
                    update(contacts)
                    .where(
                        contacts.c.id.in_([c.id for c in allowed]),
                        contacts.c.state.in_(WAITING_STATES),
                        contacts.c.next_at <= now,
                    )
                    .values(
                        state=ContactState.IN_FLIGHT,
                        attempts=contacts.c.attempts + 1,
                        attempt_seq=contacts.c.attempt_seq + 1,
                        updated_at=now,
                    )
                    .returning(contacts.c.id, contacts.c.attempt_seq)
                )
            }
            picked = [c for c in allowed if c.id in moved]
            budget = limits.budget(spec.persona) if limits.budget is not None else None
            for i, contact in enumerate(picked):
                attempt_id = uuid.uuid4().hex
                tokens[contact.id] = secrets.token_urlsafe(32)
                rows.append(
                    {
                        "id": attempt_id,
                        "contact_id": contact.id,
                        "campaign_id": campaign_id,
                        "number": moved[contact.id],
                        "room": room_for(attempt_id),
                        "status": AttemptStatus.DISPATCHING,
                        "trunk": spec.outbound_trunk,
                        "token_hashes": hash_token(tokens[contact.id]),
                        "dispatch_at": first_slot + interval * i,
                        "lease_until": now + limits.lease,
                        "budget_seconds": budget,
                        "created_at": now,
                    }
                )
            if rows:
                conn.execute(insert(attempts), rows)
                next_slot = first_slot + interval * len(rows)
                if current is None:
                    conn.execute(
                        insert(trunk_pace).values(trunk=spec.outbound_trunk, next_slot_at=next_slot)
                    )
                else:
                    conn.execute(
                        update(trunk_pace)
                        .where(trunk_pace.c.trunk == spec.outbound_trunk)
                        .values(next_slot_at=next_slot)
                    )
        claims = [
            _claim(spec, contact, row, tokens[contact.id])
            for contact, row in zip(picked, rows, strict=True)
        ]
        return claims, refusal

    def take_over_abandoned(self, now: datetime, lease: timedelta) -> list[Claim]:
        """`dispatching` attempts whose dialer's lease ran out (it crashed or gave up).

        Each is taken with a conditional UPDATE (one taker wins) and a fresh callback
        token (only hashes are stored; the old token stays valid too, in case the first
        dispatch did reach LiveKit).
        """
        with self._read() as conn:
            stale = list(
                conn.execute(
                    select(attempts.c.id, attempts.c.lease_until, attempts.c.token_hashes).where(
                        attempts.c.status == AttemptStatus.DISPATCHING,
                        attempts.c.lease_until < now,
                    )
                )
            )
        taken: list[Claim] = []
        for row in stale:
            token = secrets.token_urlsafe(32)
            hashes = [*row.token_hashes.split(), hash_token(token)][-MAX_TOKEN_HASHES:]
            with self.engine.begin() as conn:
                won = conn.execute(
                    update(attempts)
                    .where(
                        attempts.c.id == row.id,
                        attempts.c.status == AttemptStatus.DISPATCHING,
                        attempts.c.lease_until == row.lease_until,
                    )
                    .values(lease_until=now + lease, token_hashes=" ".join(hashes))
                ).rowcount
                if won == 1:
                    taken.append(_claim_for(conn, row.id, token, resumed=True))
        return taken

    def dispatch_guard(self, attempt_id: str, now: datetime) -> str | None:
        """Why the attempt must not be dispatched now, or None. Run before every try."""
        with self._read() as conn:
            return guard(conn, attempt_id, now, {AttemptStatus.DISPATCHING}, self.rules)

    def mark_dispatched(self, attempt_id: str, dispatch_id: str, now: datetime) -> bool:
        """LiveKit has the dispatch. Its outcome deadline starts: the agent's start-up
        margin + the call's own budget (ring + max call + margin), unless a permit
        taken meanwhile already set one from the dial itself."""
        with self.engine.begin() as conn:
            budget = conn.scalar(
                select(attempts.c.budget_seconds).where(attempts.c.id == attempt_id)
            )
            deadline = (
                now
                + AGENT_START_MARGIN
                + timedelta(seconds=budget if budget is not None else DEFAULT_BUDGET_SECONDS)
            )
            return (
                conn.execute(
                    update(attempts)
                    .where(
                        attempts.c.id == attempt_id,
                        attempts.c.status == AttemptStatus.DISPATCHING,
                    )
                    .values(
                        status=AttemptStatus.DISPATCHED,
                        dispatch_id=dispatch_id,
                        dispatched_at=now,
                        lease_until=None,
                        deadline_at=func.coalesce(attempts.c.deadline_at, deadline),
                    )
                ).rowcount
                == 1
            )

    def renew_leases(self, attempt_ids: Sequence[str], now: datetime, lease: timedelta) -> int:
        """A live dialer's heartbeat: its `dispatching` attempts stay its own for `lease`.

        Leases are short (seconds) and renewed every tick, so the claims of a replica
        that died are taken over in seconds instead of after the dialer's worst case.
        """
        n = 0
        with self.engine.begin() as conn:
            for start in range(0, len(attempt_ids), 500):
                n += conn.execute(
                    update(attempts)
                    .where(
                        attempts.c.id.in_(attempt_ids[start : start + 500]),
                        attempts.c.status == AttemptStatus.DISPATCHING,
                    )
                    .values(lease_until=now + lease)
                ).rowcount
        return n

    def take_send_slot(
        self, trunk: str, now: datetime | Callable[[], datetime], interval: timedelta
    ) -> datetime:
        """When this dispatch on `trunk` may be sent: the trunk's shared limiter.

        Every replica, for every dispatch (fresh, taken over or late), takes the next
        slot here at the moment of sending; slots are `interval` apart (the pace with
        its headroom, `campaigns.pace`), so the trunk's calls per second hold across
        replicas whatever their pre-assigned pacing said. `now` may be a clock: it is
        then read once the trunk's row is locked, so a slot is never handed out
        already stale because the lock was busy. The interval is kept on the trunk's
        row: the dial permit paces the agents' dials on the trunk with it
        (`take_dial_slot`).
        """
        for _ in range(3):
            try:
                with self.engine.begin() as conn:
                    return take_slot(conn, trunk, now, interval, remember=True)
            except IntegrityError:
                continue  # another replica inserted the trunk's row first; take it again
        raise RuntimeError(f"could not take a send slot for trunk {trunk}")


#: The key of a trunk's dial slots (the agents' CreateSIPParticipant), beside its
#: dispatch slots: a dispatch and its dial are one call, paced at the same rate.
DIAL_KEY = "{trunk} dial"


def take_slot(
    conn: Connection,
    key: str,
    now: datetime | Callable[[], datetime],
    interval: timedelta,
    *,
    remember: bool = False,
) -> datetime:
    """The next slot of limiter `key`, in the caller's transaction (the row is locked
    until it commits). A first use inserts the row: a concurrent first use then fails
    with IntegrityError and the caller tries again. A clock for `now` is read after the
    row is locked."""
    current = conn.execute(
        select(trunk_sends.c.next_at).where(trunk_sends.c.trunk == key).with_for_update()
    ).first()
    if callable(now):
        now = now()
    slot = now if current is None or current.next_at < now else current.next_at
    values: dict[str, Any] = {"next_at": slot + interval}
    if remember:
        # rounded up: a shorter interval would fit one call too many into a second
        values["interval_ms"] = max(1, math.ceil(interval / timedelta(milliseconds=1)))
    if current is None:
        conn.execute(insert(trunk_sends).values(trunk=key, **values))
    else:
        conn.execute(update(trunk_sends).where(trunk_sends.c.trunk == key).values(**values))
    return slot


def take_dial_slot(
    conn: Connection, trunk: str, now: datetime | Callable[[], datetime]
) -> datetime | None:
    """When a granted permit's dial on `trunk` may go: paced at the trunk's dispatch
    rate, shared by every replica, so dials bunched by an outage (permits retried
    together) still leave at the trunk's calls per second. An idle trunk's next slot is
    `pace.DIAL_LEAD` ahead of now, so the answer reaches the agent before its slot.
    None: not paced, dial now."""
    ms = conn.scalar(select(trunk_sends.c.interval_ms).where(trunk_sends.c.trunk == trunk))
    if ms is None:
        return None

    def ahead() -> datetime:  # a little ahead: the agent hears of its slot after it is set
        start = now() if callable(now) else now
        return start + timedelta(seconds=DIAL_LEAD)

    return take_slot(conn, DIAL_KEY.format(trunk=trunk), ahead, timedelta(milliseconds=ms))


def guard(
    conn: Connection,
    attempt_id: str,
    now: datetime,
    statuses: set[AttemptStatus],
    rules: CallingRules,
) -> str | None:
    """Why attempt `attempt_id` must not go on now (status, pause, DNC, the calling
    policy), or None."""
    r = conn.execute(
        select(
            attempts.c.status,
            contacts,
            campaigns.c.status.label("campaign_status"),
            campaigns.c.spec,
        )
        .join(contacts, contacts.c.id == attempts.c.contact_id)
        .join(campaigns, campaigns.c.id == attempts.c.campaign_id)
        .where(attempts.c.id == attempt_id)
    ).first()
    if r is None:
        return "attempt not found"
    if r.status not in statuses:
        return f"attempt is {r.status}"
    if r.campaign_status != CampaignStatus.ACTIVE:
        return f"campaign is {r.campaign_status}"
    if on_dnc(conn, r.phone):
        return "on the do-not-call list"
    spec = CampaignSettings.model_validate_json(r.spec)
    decision = decide_for(conn, r, spec.window, spec.timezone, rules, now, exclude=attempt_id)
    return decision.refusal


def _lock_claims(conn: Connection) -> None:
    """Serialise claimers: an UPDATE row lock on PostgreSQL, a no-op cost on SQLite."""
    done = conn.execute(
        update(claim_lock).where(claim_lock.c.name == "claims").values(seq=claim_lock.c.seq + 1)
    )
    if done.rowcount != 1:
        raise RuntimeError("claim_lock row missing: run the campaign migrations")


def _claim_for(conn: Connection, attempt_id: str, token: str, resumed: bool) -> Claim:
    r = conn.execute(
        select(
            attempts,
            contacts.c.phone,
            contacts.c.name,
            contacts.c.timezone,
            contacts.c.variables,
            campaigns.c.spec,
        )
        .join(contacts, contacts.c.id == attempts.c.contact_id)
        .join(campaigns, campaigns.c.id == attempts.c.campaign_id)
        .where(attempts.c.id == attempt_id)
    ).one()
    spec = CampaignSettings.model_validate_json(r.spec)
    return _claim(spec, r, r._mapping, token, resumed=resumed)


def _claim(
    spec: CampaignSettings,
    contact: Any,
    attempt: Mapping[Any, Any],
    token: str,
    *,
    resumed: bool = False,
) -> Claim:
    """The dialer's view of attempt row `attempt` of contact row `contact`."""
    return Claim(
        attempt_id=attempt["id"],
        number=attempt["number"],
        room=attempt["room"],
        campaign_id=attempt["campaign_id"],
        contact_id=attempt["contact_id"],
        phone=contact.phone,
        name=contact.name,
        timezone=contact.timezone,
        variables=json.loads(contact.variables),
        persona=spec.persona,
        outbound_trunk=attempt["trunk"],
        caller_id=spec.caller_id,
        callback_token=token,
        dispatch_at=attempt["dispatch_at"],
        resumed=resumed,
    )
