"""Durable campaign state: campaigns, contacts, attempts, the do-not-call list.

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
whose lease expires; `take_over_abandoned` hands them to a dialer again, which first
looks for the attempt's room (`dt-attempt-<id>`) at LiveKit. `UNIQUE (contact_id,
number)` makes a second row for the same attempt impossible.

An attempt counts towards `max_attempts` (`contacts.attempts`) unless it is certain no
call was placed (`release_attempt`: refused at dial time, or LiveKit certainly created
nothing); its row stays, numbered by `contacts.attempt_seq`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from ..db.engine import read_only
from ..db.tables import attempts, campaigns, claim_lock, contacts, dnc, idempotency_keys, trunk_pace
from ..wire import room_for
from .models import (
    WAITING_STATES,
    AttemptStatus,
    CampaignSettings,
    CampaignStatus,
    ContactIn,
    ContactState,
    Outcome,
)
from .outbox import EventType, enqueue, save_secret
from .transitions import next_state
from .windows import is_open, local_day_start, next_opening

MAX_TOKEN_HASHES = 4
CLAIM_CHUNK = 100  # contacts claimed per transaction at most
INSERT_CHUNK = 2000  # contacts inserted per statement on creation


# --- value objects --------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ClaimLimits:
    """Limits the scheduler holds across every campaign (not per campaign)."""

    global_max_concurrent: int = 20
    calls_per_second: float = 1.0  # per outbound trunk
    pace_horizon: timedelta = timedelta(seconds=1)  # hand out slots this far ahead
    lease: timedelta = timedelta(minutes=3)  # a dialer's time to settle one attempt
    batch: int = 500


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


# --- the store ------------------------------------------------------------------------


class CampaignStore:
    """Synchronous; async callers use `asyncio.to_thread`. Every method takes `now`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._round_robin = 0

    def _read(self) -> AbstractContextManager[Connection]:
        return read_only(self.engine)

    # --- creation ---------------------------------------------------------------------

    def create_campaign(
        self,
        settings: CampaignSettings,
        people: Iterable[tuple[int, ContactIn]],
        now: datetime,
        *,
        kind: str = "campaign",
        idempotency: tuple[str, str, str | Callable[[], str]] | None = None,
        webhook_secret: str | None = None,
    ) -> tuple[str, bool]:
        """Insert the campaign and all contacts in one transaction.

        `people` may be a stream: contacts are inserted in chunks as they come, so an
        upload is never all in memory; if the stream raises (the API's validation found
        bad rows), the transaction rolls back and nothing exists.

        `idempotency` = (scope, key, request hash, or a function giving it once `people`
        is consumed). Returns (campaign id, replayed): a key seen before with the same
        request returns the first campaign; with a different request it raises
        `IdempotencyMismatch`. The key row is written last, so a concurrent request with
        the same key waits on it and then sees the first one's result.
        """
        campaign_id = uuid.uuid4().hex
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(campaigns).values(
                        id=campaign_id,
                        kind=kind,
                        name=settings.name,
                        status=CampaignStatus.ACTIVE,
                        status_reason=None,
                        spec=settings.model_dump_json(),
                        contact_count=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
                if webhook_secret:
                    save_secret(conn, campaign_id, webhook_secret)
                total = 0
                chunk: list[tuple[int, ContactIn]] = []
                for item in people:
                    chunk.append(item)
                    if len(chunk) == INSERT_CHUNK:
                        total += self._insert_contacts(conn, campaign_id, settings, chunk, now)
                        chunk = []
                total += self._insert_contacts(conn, campaign_id, settings, chunk, now)
                conn.execute(
                    update(campaigns)
                    .where(campaigns.c.id == campaign_id)
                    .values(contact_count=total)
                )
                if idempotency is not None:
                    scope, key, digest = idempotency
                    conn.execute(
                        insert(idempotency_keys).values(
                            scope=scope,
                            key=key,
                            request_hash=digest if isinstance(digest, str) else digest(),
                            campaign_id=campaign_id,
                            created_at=now,
                        )
                    )
        except IntegrityError:
            if idempotency is None:
                raise
            scope, key, digest = idempotency
            with self._read() as conn:
                found = conn.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
                    )
                ).first()
            if found is None:
                raise
            given = digest if isinstance(digest, str) else digest()
            if not hmac.compare_digest(found.request_hash, given):
                raise IdempotencyMismatch(
                    f"Idempotency-Key {key!r} was already used with a different request"
                ) from None
            return found.campaign_id, True
        return campaign_id, False

    def _insert_contacts(
        self,
        conn: Connection,
        campaign_id: str,
        settings: CampaignSettings,
        chunk: Sequence[tuple[int, ContactIn]],
        now: datetime,
    ) -> int:
        if not chunk:
            return 0
        blocked = self._dnc_among(conn, [c.phone for _, c in chunk])
        conn.execute(
            insert(contacts),
            [
                {
                    "campaign_id": campaign_id,
                    "row": row,
                    "phone": c.phone,
                    "name": c.name,
                    "timezone": c.timezone or settings.timezone,
                    "variables": json.dumps(c.variables, sort_keys=True),
                    "state": ContactState.DNC if c.phone in blocked else ContactState.PENDING,
                    "attempts": 0,
                    "attempt_seq": 0,
                    "dispatch_failures": 0,
                    "next_at": now,
                    "last_outcome": None,
                    "last_detail": "on the do-not-call list" if c.phone in blocked else None,
                    "updated_at": now,
                }
                for row, c in chunk
            ],
        )
        return len(chunk)

    @staticmethod
    def _dnc_among(conn: Connection, phones: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(phones), 500):
            chunk = phones[start : start + 500]
            found.update(conn.scalars(select(dnc.c.phone).where(dnc.c.phone.in_(chunk))))
        return found

    # --- reading ----------------------------------------------------------------------

    @staticmethod
    def _campaign(row: Any) -> CampaignRow:
        return CampaignRow(
            id=row.id,
            kind=row.kind,
            name=row.name,
            status=CampaignStatus(row.status),
            status_reason=row.status_reason,
            settings=CampaignSettings.model_validate_json(row.spec),
            contact_count=row.contact_count,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def get_campaign(self, campaign_id: str) -> CampaignRow:
        with self._read() as conn:
            row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
        if row is None:
            raise NotFound(f"campaign {campaign_id} not found")
        return self._campaign(row)

    def progress(self, campaign_id: str, now: datetime) -> Progress:
        campaign = self.get_campaign(campaign_id)
        day_start = local_day_start(ZoneInfo(campaign.settings.timezone), now)
        with self._read() as conn:
            states = {
                str(state): int(n)
                for state, n in conn.execute(
                    select(contacts.c.state, func.count())
                    .where(contacts.c.campaign_id == campaign_id)
                    .group_by(contacts.c.state)
                )
            }
            outcomes = {
                str(outcome): int(n)
                for outcome, n in conn.execute(
                    select(attempts.c.outcome, func.count())
                    .where(attempts.c.campaign_id == campaign_id, attempts.c.outcome.is_not(None))
                    .group_by(attempts.c.outcome)
                )
            }
            total_attempts = conn.scalar(
                select(func.count()).where(
                    attempts.c.campaign_id == campaign_id,
                    attempts.c.status != AttemptStatus.NOT_DISPATCHED,
                )
            )
            today = self._calls_since(conn, campaign_id, day_start)
        counts = {s.value: states.get(s.value, 0) for s in ContactState}
        return Progress(campaign, counts, outcomes, int(total_attempts or 0), today)

    @staticmethod
    def _calls_since(conn: Connection, campaign_id: str, since: datetime) -> int:
        n = conn.scalar(
            select(func.count()).where(
                attempts.c.campaign_id == campaign_id,
                attempts.c.created_at >= since,
                attempts.c.status != AttemptStatus.NOT_DISPATCHED,
            )
        )
        return int(n or 0)

    def list_attempts(self, campaign_id: str, *, limit: int, offset: int) -> list[AttemptRow]:
        self.get_campaign(campaign_id)
        query = (
            select(attempts, contacts.c.phone)
            .join(contacts, contacts.c.id == attempts.c.contact_id)
            .where(attempts.c.campaign_id == campaign_id)
            .order_by(attempts.c.created_at, attempts.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self._read() as conn:
            return [
                AttemptRow(
                    id=r.id,
                    campaign_id=r.campaign_id,
                    contact_id=r.contact_id,
                    phone=r.phone,
                    number=r.number,
                    room=r.room,
                    status=r.status,
                    outcome=r.outcome,
                    detail=r.detail,
                    created_at=r.created_at,
                    dispatched_at=r.dispatched_at,
                    finished_at=r.finished_at,
                )
                for r in conn.execute(query)
            ]

    def results(self, campaign_id: str) -> Iterator[ResultRow]:
        """Every contact with its final (or current) state, in upload order."""
        self.get_campaign(campaign_id)
        last_id = 0
        while True:
            with self._read() as conn:
                batch = list(
                    conn.execute(
                        select(contacts)
                        .where(contacts.c.campaign_id == campaign_id, contacts.c.id > last_id)
                        .order_by(contacts.c.id)
                        .limit(1000)
                    )
                )
            if not batch:
                return
            for r in batch:
                yield ResultRow(
                    row=r.row,
                    phone=r.phone,
                    name=r.name,
                    timezone=r.timezone,
                    state=r.state,
                    attempts=r.attempts,
                    last_outcome=r.last_outcome,
                    last_detail=r.last_detail,
                    variables=json.loads(r.variables),
                    updated_at=r.updated_at,
                )
            last_id = batch[-1].id

    def contact_states(self, campaign_id: str) -> dict[str, str]:
        """phone -> state (tests and small campaigns)."""
        with self._read() as conn:
            return {
                r.phone: r.state
                for r in conn.execute(
                    select(contacts.c.phone, contacts.c.state).where(
                        contacts.c.campaign_id == campaign_id
                    )
                )
            }

    # --- pause, resume, cancel --------------------------------------------------------

    def set_status(self, campaign_id: str, action: str, now: datetime) -> CampaignStatus:
        """`pause` (active -> paused), `resume` (paused -> active), `cancel` (-> cancelled).

        Cancel moves every waiting contact to `cancelled` in the same transaction; a
        contact already in a call ends `cancelled` when its outcome is retryable.
        """
        transitions = {
            "pause": ({CampaignStatus.ACTIVE}, CampaignStatus.PAUSED),
            "resume": ({CampaignStatus.PAUSED}, CampaignStatus.ACTIVE),
            "cancel": ({CampaignStatus.ACTIVE, CampaignStatus.PAUSED}, CampaignStatus.CANCELLED),
        }
        allowed, target = transitions[action]
        with self.engine.begin() as conn:
            current = conn.scalar(select(campaigns.c.status).where(campaigns.c.id == campaign_id))
            if current is None:
                raise NotFound(f"campaign {campaign_id} not found")
            if current == target:
                return target
            if current not in allowed:
                raise StoreError(f"cannot {action} a campaign that is {current}")
            conn.execute(
                update(campaigns)
                .where(campaigns.c.id == campaign_id, campaigns.c.status == current)
                .values(status=target, status_reason=None, updated_at=now)
            )
            if target is CampaignStatus.CANCELLED:
                conn.execute(
                    update(contacts)
                    .where(
                        contacts.c.campaign_id == campaign_id,
                        contacts.c.state.in_(WAITING_STATES),
                    )
                    .values(state=ContactState.CANCELLED, updated_at=now)
                )
                self._campaign_finished(conn, campaign_id, target, now)
        return target

    # --- do-not-call ------------------------------------------------------------------

    def add_dnc(self, phones: Sequence[str], reason: str, now: datetime) -> int:
        """Add numbers; waiting contacts with them become `dnc` in the same transaction."""
        with self.engine.begin() as conn:
            return self._add_dnc(conn, phones, reason, now)

    def _add_dnc(self, conn: Connection, phones: Sequence[str], reason: str, now: datetime) -> int:
        existing = self._dnc_among(conn, phones)
        new = sorted(set(phones) - existing)
        if new:
            conn.execute(
                insert(dnc), [{"phone": p, "reason": reason, "created_at": now} for p in new]
            )
        for start in range(0, len(phones), 500):
            conn.execute(
                update(contacts)
                .where(
                    contacts.c.phone.in_(phones[start : start + 500]),
                    contacts.c.state.in_(WAITING_STATES),
                )
                .values(
                    state=ContactState.DNC, last_detail="on the do-not-call list", updated_at=now
                )
            )
        return len(new)

    def remove_dnc(self, phone: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(dnc.delete().where(dnc.c.phone == phone)).rowcount == 1

    def list_dnc(self, *, limit: int, offset: int) -> list[tuple[str, str, datetime]]:
        with self._read() as conn:
            return [
                (r.phone, r.reason, r.created_at)
                for r in conn.execute(select(dnc).order_by(dnc.c.phone).limit(limit).offset(offset))
            ]

    def get_dnc(self, phone: str) -> tuple[str, str, datetime] | None:
        with self._read() as conn:
            r = conn.execute(select(dnc).where(dnc.c.phone == phone)).first()
        return None if r is None else (r.phone, r.reason, r.created_at)

    def on_dnc(self, phone: str) -> bool:
        with self._read() as conn:
            return conn.scalar(select(dnc.c.phone).where(dnc.c.phone == phone)) is not None

    # --- claiming ---------------------------------------------------------------------

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
        closed: list[tuple[Any, datetime]] = []
        open_now: list[Any] = []
        for contact in due:
            zone = ZoneInfo(contact.timezone)
            if is_open(spec.window, zone, now):
                open_now.append(contact)
            else:
                closed.append((contact, next_opening(spec.window, zone, now)))
        if closed:
            self._defer(closed, now)
        refusal: ClaimRefusal | None = None
        for start in range(0, len(open_now), CLAIM_CHUNK):
            got, refusal = self._claim_batch(
                campaign_id, spec, open_now[start : start + CLAIM_CHUNK], now, limits
            )
            claims.extend(got)
            if refusal is not None:
                break
        return refusal

    def _defer(self, closed: Sequence[tuple[Any, datetime]], now: datetime) -> None:
        """Outside their window: not due again until it opens (no rescan every tick)."""
        with self.engine.begin() as conn:
            for contact, at in closed:
                conn.execute(
                    update(contacts)
                    .where(
                        contacts.c.id == contact.id,
                        contacts.c.state == contact.state,
                        contacts.c.attempt_seq == contact.attempt_seq,
                    )
                    .values(next_at=at, updated_at=now)
                )

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
            self._lock_claims(conn)
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
            today = self._calls_since(conn, campaign_id, day_start)
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
            blocked = self._dnc_among(conn, [c.phone for c in candidates])
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
            allowed = [c for c in candidates if c.phone not in blocked]
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
            Claim(
                attempt_id=row["id"],
                number=row["number"],
                room=row["room"],
                campaign_id=campaign_id,
                contact_id=contact.id,
                phone=contact.phone,
                name=contact.name,
                timezone=contact.timezone,
                variables=json.loads(contact.variables),
                persona=spec.persona,
                outbound_trunk=spec.outbound_trunk,
                caller_id=spec.caller_id,
                callback_token=tokens[contact.id],
                dispatch_at=row["dispatch_at"],
            )
            for contact, row in zip(picked, rows, strict=True)
        ]
        return claims, refusal

    @staticmethod
    def _lock_claims(conn: Connection) -> None:
        """Serialise claimers: an UPDATE row lock on PostgreSQL, a no-op cost on SQLite."""
        done = conn.execute(
            update(claim_lock).where(claim_lock.c.name == "claims").values(seq=claim_lock.c.seq + 1)
        )
        if done.rowcount != 1:
            raise RuntimeError("claim_lock row missing: run the campaign migrations")

    # --- after a dispatch -------------------------------------------------------------

    def _claim_for(self, conn: Connection, attempt_id: str, token: str, resumed: bool) -> Claim:
        r = conn.execute(
            select(attempts, contacts, campaigns.c.spec)
            .join(contacts, contacts.c.id == attempts.c.contact_id)
            .join(campaigns, campaigns.c.id == attempts.c.campaign_id)
            .where(attempts.c.id == attempt_id)
        ).one()
        spec = CampaignSettings.model_validate_json(r.spec)
        return Claim(
            attempt_id=attempt_id,
            number=r.number,
            room=r.room,
            campaign_id=r.campaign_id,
            contact_id=r.contact_id,
            phone=r.phone,
            name=r.name,
            timezone=r.timezone,
            variables=json.loads(r.variables),
            persona=spec.persona,
            outbound_trunk=r.trunk,
            caller_id=spec.caller_id,
            callback_token=token,
            dispatch_at=r.dispatch_at,
            resumed=resumed,
        )

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
                    taken.append(self._claim_for(conn, row.id, token, resumed=True))
        return taken

    def dispatch_guard(self, attempt_id: str, now: datetime) -> str | None:
        """Why the attempt must not be dispatched now, or None. Run before every try."""
        with self._read() as conn:
            return self._guard(conn, attempt_id, now, {AttemptStatus.DISPATCHING})

    @staticmethod
    def _guard(
        conn: Connection, attempt_id: str, now: datetime, statuses: set[AttemptStatus]
    ) -> str | None:
        r = conn.execute(
            select(
                attempts.c.status,
                contacts.c.phone,
                contacts.c.timezone,
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
        if conn.scalar(select(dnc.c.phone).where(dnc.c.phone == r.phone)):
            return "on the do-not-call list"
        spec = CampaignSettings.model_validate_json(r.spec)
        if not is_open(spec.window, ZoneInfo(r.timezone), now):
            return "outside the calling window"
        return None

    def mark_dispatched(self, attempt_id: str, dispatch_id: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
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
                    )
                ).rowcount
                == 1
            )

    def extend_lease(self, attempt_id: str, until: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(attempts)
                .where(
                    attempts.c.id == attempt_id,
                    attempts.c.status == AttemptStatus.DISPATCHING,
                )
                .values(lease_until=until)
            )

    @staticmethod
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

    @staticmethod
    def _pause_if_active(conn: Connection, campaign_id: str, reason: str, now: datetime) -> None:
        """Pause a campaign for a reason every further call would hit (a broken trunk)."""
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id, campaigns.c.status == CampaignStatus.ACTIVE)
            .values(status=CampaignStatus.PAUSED, status_reason=reason[:2000], updated_at=now)
        )

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
            self._end_attempt(conn, a, AttemptStatus.NOT_DISPATCHED, now, detail=reason)
            c = conn.execute(select(contacts).where(contacts.c.id == a.contact_id)).one()
            if pause_campaign:
                self._pause_if_active(conn, a.campaign_id, reason, now)
            campaign_status = conn.scalar(
                select(campaigns.c.status).where(campaigns.c.id == a.campaign_id)
            )
            values: dict[str, Any] = {"attempts": max(0, c.attempts - 1), "updated_at": now}
            if dispatch_failure:
                values["dispatch_failures"] = c.dispatch_failures + 1
            if conn.scalar(select(dnc.c.phone).where(dnc.c.phone == c.phone)):
                values.update(state=ContactState.DNC, last_detail="on the do-not-call list")
            elif campaign_status == CampaignStatus.CANCELLED:
                values.update(state=ContactState.CANCELLED)
            else:
                values.update(
                    state=ContactState.PENDING if c.attempts <= 1 else ContactState.RETRY_WAIT,
                    next_at=max(now, retry_at or now),
                )
            conn.execute(
                update(contacts)
                .where(
                    contacts.c.id == c.id,
                    contacts.c.state == ContactState.IN_FLIGHT,
                    contacts.c.attempt_seq == a.number,
                )
                .values(**values)
            )
        return True

    def reject_attempt(self, attempt_id: str, reason: str, now: datetime) -> bool:
        """LiveKit refused the dispatch for this contact: the contact ends `failed`."""
        with self.engine.begin() as conn:
            a = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).first()
            if a is None or a.status != AttemptStatus.DISPATCHING:
                return False
            self._end_attempt(conn, a, AttemptStatus.REJECTED, now, detail=reason)
            conn.execute(
                update(contacts)
                .where(
                    contacts.c.id == a.contact_id,
                    contacts.c.state == ContactState.IN_FLIGHT,
                    contacts.c.attempt_seq == a.number,
                )
                .values(
                    state=ContactState.FAILED,
                    last_outcome=Outcome.FAILED,
                    last_detail=reason,
                    updated_at=now,
                )
            )
            c = conn.execute(select(contacts).where(contacts.c.id == a.contact_id)).one()
            spec = CampaignSettings.model_validate_json(
                conn.scalar(select(campaigns.c.spec).where(campaigns.c.id == a.campaign_id)) or "{}"
            )
            self._outcome_event(conn, spec, a, c, Outcome.FAILED, reason, ContactState.FAILED, now)
        return True

    # --- outcomes ---------------------------------------------------------------------

    @staticmethod
    def _check_token(row: Any, token: str) -> None:
        digest = hash_token(token)
        if not any(hmac.compare_digest(digest, h) for h in row.token_hashes.split()):
            raise BadToken("callback token does not match this attempt")

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
            self._check_token(a, token)
            if a.dial_started_at is not None:
                return "this attempt was already dialled"
            reason = self._guard(
                conn, attempt_id, now, {AttemptStatus.DISPATCHING, AttemptStatus.DISPATCHED}
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
                self._check_token(a, token)
            if a.status == AttemptStatus.FINISHED:
                if a.outcome == outcome:
                    return False
                raise StoreError(f"attempt {attempt_id} already ended as {a.outcome}")
            if a.status not in (AttemptStatus.DISPATCHING, AttemptStatus.DISPATCHED):
                raise StoreError(f"attempt {attempt_id} is {a.status}: no call was placed")
            self._end_attempt(
                conn, a, AttemptStatus.FINISHED, now, outcome=outcome, detail=detail[:2000]
            )
            if pause_reason is not None:
                self._pause_if_active(conn, a.campaign_id, pause_reason, now)
            self._after_outcome(conn, a, outcome, detail, now, uncounted=pause_reason is not None)
        return True

    def _after_outcome(
        self,
        conn: Connection,
        a: Any,
        outcome: Outcome,
        detail: str,
        now: datetime,
        *,
        uncounted: bool = False,
    ) -> None:
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
            on_dnc=conn.scalar(select(dnc.c.phone).where(dnc.c.phone == c.phone)) is not None,
            uncounted=uncounted,
            now=now,
        )
        values["state"] = step.state
        if step.next_at is not None:
            values["next_at"] = step.next_at
        if outcome is Outcome.OPTED_OUT:
            self._add_dnc(conn, [c.phone], f"opted out during attempt {a.id}", now)
        moved = conn.execute(
            update(contacts)
            .where(
                contacts.c.id == c.id,
                contacts.c.state == ContactState.IN_FLIGHT,
                contacts.c.attempt_seq == a.number,
            )
            .values(**values)
        )
        state = values["state"] if moved.rowcount == 1 else c.state
        self._outcome_event(conn, spec, a, c, outcome, detail, state, now)

    @staticmethod
    def _outcome_event(
        conn: Connection,
        spec: CampaignSettings,
        a: Any,
        c: Any,
        outcome: Outcome,
        detail: str,
        state: str,
        now: datetime,
    ) -> None:
        """`call.outcome`, in the transaction that records the outcome (see outbox.py)."""
        enqueue(
            conn,
            spec.webhook_url,
            a.campaign_id,
            EventType.CALL_OUTCOME,
            {
                "campaign_id": a.campaign_id,
                "attempt_id": a.id,
                "attempt_number": a.number,
                "outcome": str(outcome),
                "detail": detail[:2000],
                "contact": {
                    "row": c.row,
                    "phone": c.phone,
                    "name": c.name,
                    "timezone": c.timezone,
                    "variables": json.loads(c.variables),
                    "state": str(state),
                    "attempts": c.attempts,
                },
            },
            now,
        )

    @staticmethod
    def _campaign_finished(
        conn: Connection, campaign_id: str, status: CampaignStatus, now: datetime
    ) -> None:
        """`campaign.finished` (completed or cancelled), in the transaction that ends it."""
        row = conn.execute(
            select(campaigns.c.name, campaigns.c.spec, campaigns.c.contact_count).where(
                campaigns.c.id == campaign_id
            )
        ).one()
        spec = CampaignSettings.model_validate_json(row.spec)
        if not spec.webhook_url:
            return
        states = {
            str(state): int(n)
            for state, n in conn.execute(
                select(contacts.c.state, func.count())
                .where(contacts.c.campaign_id == campaign_id)
                .group_by(contacts.c.state)
            )
        }
        enqueue(
            conn,
            spec.webhook_url,
            campaign_id,
            EventType.CAMPAIGN_FINISHED,
            {
                "campaign_id": campaign_id,
                "name": row.name,
                "status": str(status),
                "contacts": {"total": row.contact_count, **states},
            },
            now,
        )

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

    def complete_finished(self, now: datetime) -> list[str]:
        """Active or paused campaigns whose every contact is terminal become `completed`."""
        open_contacts = (
            select(contacts.c.id)
            .where(
                contacts.c.campaign_id == campaigns.c.id,
                contacts.c.state.in_(
                    (ContactState.PENDING, ContactState.IN_FLIGHT, ContactState.RETRY_WAIT)
                ),
            )
            .exists()
        )
        with self.engine.begin() as conn:
            done = list(
                conn.scalars(
                    select(campaigns.c.id).where(
                        campaigns.c.status.in_((CampaignStatus.ACTIVE, CampaignStatus.PAUSED)),
                        ~open_contacts,
                    )
                )
            )
            finished: list[str] = []
            for campaign_id in done:
                # One UPDATE per campaign: only the replica whose UPDATE moved the row
                # writes the `campaign.finished` event, so it is written once.
                moved = conn.execute(
                    update(campaigns)
                    .where(
                        campaigns.c.id == campaign_id,
                        campaigns.c.status.in_((CampaignStatus.ACTIVE, CampaignStatus.PAUSED)),
                    )
                    .values(status=CampaignStatus.COMPLETED, updated_at=now)
                )
                if moved.rowcount == 1:
                    finished.append(campaign_id)
                    self._campaign_finished(conn, campaign_id, CampaignStatus.COMPLETED, now)
        return finished

    def attempt_ids_for(self, campaign_id: str) -> list[tuple[str, int, str]]:
        """(attempt id, contact id, status) for every attempt of a campaign (tests)."""
        with self._read() as conn:
            return [
                (r.id, r.contact_id, r.status)
                for r in conn.execute(
                    select(attempts.c.id, attempts.c.contact_id, attempts.c.status).where(
                        and_(attempts.c.campaign_id == campaign_id)
                    )
                )
            ]

    def dispatch_failures(self, contact_id: int) -> int:
        with self._read() as conn:
            return int(
                conn.scalar(select(contacts.c.dispatch_failures).where(contacts.c.id == contact_id))
                or 0
            )
