"""The store as a state machine: Hypothesis interleaves every way an attempt can move.

Rules: claim, dispatch, the dial permit (the same job again, another job), report,
expire (settle an unreported attempt), release, reject, pause / resume / cancel, the
do-not-call list (the API's and the agent's own opt-out) and time passing. After every
step the invariants hold:

- at most one job was ever allowed to dial an attempt, and a dialled attempt is never
  "released as not placed";
- one terminal event per attempt: one `call.outcome` for each attempt that ended with
  one, none for an attempt that is still open or ended without a call;
- opt-outs are never lost: every number that opted out is on the do-not-call list, and
  no waiting contact has a listed number;
- counters equal rows: a contact's `attempts` is its attempts that could have placed a
  call, `attempt_seq` all its attempt rows, and it is `in_flight` exactly while one of
  its attempts is open.

Runs on SQLite and PostgreSQL, each example on a fresh campaign in one database.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, update

from dialtone.campaigns.models import AttemptStatus, ContactIn, Outcome
from dialtone.campaigns.store import CampaignStore, Claim, ClaimLimits, StoreError
from dialtone.db.tables import attempts, campaigns, contacts, dnc, webhook_outbox

from .conftest import T0
from .conftest import settings as campaign_settings

LIMITS = ClaimLimits(global_max_concurrent=1000, calls_per_second=1000.0)
_numbers = itertools.count()
A = AttemptStatus
OPEN = {A.DISPATCHING, A.DISPATCHED}
WITH_EVENT = {A.FINISHED, A.REJECTED}
COUNTED = {A.DISPATCHING, A.DISPATCHED, A.FINISHED, A.REJECTED}


class AttemptMachine(RuleBasedStateMachine):
    claims = Bundle("claims")

    def __init__(self, store: CampaignStore) -> None:
        super().__init__()
        self.store = store
        self.now = T0
        base = next(_numbers) * 10
        people = [
            (i + 1, ContactIn(phone=f"+1555060{base + i:04d}", name=f"P{i}", variables={}))
            for i in range(4)
        ]
        self.campaign_id, _ = store.create_campaign(
            campaign_settings(
                webhook_url="https://example.test/hook",
                retry={"max_attempts": 3},
                # a trunk of its own: an earlier example's clock ran ahead on its pace
                outbound_trunk=f"ST_stateful{base}",
            ),
            people,
            self.now,
        )
        self.phones = [p.phone for _, p in people]
        self.granted: dict[str, set[str]] = defaultdict(set)
        self.opted_out: set[str] = set()

    # --- rules -----------------------------------------------------------------------

    @rule(target=claims)
    def claim(self) -> Any:
        got = self.store.claim_due(self.now, LIMITS)
        return multiple(*(c for c in got if c.campaign_id == self.campaign_id))

    @rule(c=claims)
    def dispatch(self, c: Claim) -> None:
        self.store.mark_dispatched(c.attempt_id, f"AD_{c.attempt_id[:8]}", self.now)

    @rule(c=claims, job=st.sampled_from(["AJ_one", "AJ_two"]))
    def permit(self, c: Claim, job: str) -> None:
        answer = self.store.acquire_dial_permit(
            c.attempt_id, c.callback_token, self.now, job_id=job
        )
        if answer.allowed:
            self.granted[c.attempt_id].add(job)

    @rule(c=claims, outcome=st.sampled_from(list(Outcome)))
    def report(self, c: Claim, outcome: Outcome) -> None:
        try:
            self.store.report_outcome(c.attempt_id, c.callback_token, outcome, "", self.now)
        except StoreError:
            return
        if outcome is Outcome.OPTED_OUT and self._row(c).outcome == Outcome.OPTED_OUT:
            self.opted_out.add(c.phone)

    @rule(c=claims)
    def opt_out_heard(self, c: Claim) -> None:
        self.store.record_opt_out(c.attempt_id, c.callback_token, self.now)
        self.opted_out.add(c.phone)

    @rule(c=claims)
    def expire(self, c: Claim) -> None:
        self.store.settle_unreported(c.attempt_id, self.now)

    @rule()
    def expire_due(self) -> None:
        self.store.expire_unreported(self.now)

    @rule(c=claims, both=st.booleans())
    def release(self, c: Claim, both: bool) -> None:
        allowed = frozenset(OPEN) if both else frozenset({A.DISPATCHING})
        self.store.release_attempt(c.attempt_id, "released", self.now, allowed=allowed)

    @rule(c=claims)
    def reject(self, c: Claim) -> None:
        self.store.reject_attempt(c.attempt_id, "refused", self.now)

    @rule(action=st.sampled_from(["pause", "resume", "cancel"]))
    def campaign_status(self, action: str) -> None:
        with contextlib.suppress(StoreError):
            self.store.set_status(self.campaign_id, action, self.now)

    @rule(i=st.integers(0, 3))
    def list_dnc(self, i: int) -> None:
        self.store.add_dnc([self.phones[i]], "asked by phone", self.now)
        self.opted_out.add(self.phones[i])

    @rule(minutes=st.sampled_from([1, 20, 90, 300]))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    def teardown(self) -> None:
        """Leave nothing open for the next example (one database serves them all: an
        open attempt would count against every later example's global concurrency)."""
        with self.store.engine.begin() as conn:
            conn.execute(
                update(attempts)
                .where(attempts.c.campaign_id == self.campaign_id, attempts.c.status.in_(OPEN))
                .values(status=A.FINISHED)
            )
            conn.execute(
                update(contacts)
                .where(contacts.c.campaign_id == self.campaign_id)
                .values(state="cancelled")
            )
            conn.execute(
                update(campaigns)
                .where(campaigns.c.id == self.campaign_id)
                .values(status="cancelled")
            )

    # --- invariants --------------------------------------------------------------------

    def _row(self, c: Claim) -> Any:
        with self.store.engine.connect() as conn:
            return conn.execute(select(attempts).where(attempts.c.id == c.attempt_id)).one()

    def _rows(self) -> tuple[list[Any], list[Any], set[str], list[dict[str, Any]]]:
        with self.store.engine.connect() as conn:
            people = list(
                conn.execute(select(contacts).where(contacts.c.campaign_id == self.campaign_id))
            )
            tries = list(
                conn.execute(select(attempts).where(attempts.c.campaign_id == self.campaign_id))
            )
            listed = set(conn.scalars(select(dnc.c.phone)))
            events = [
                json.loads(p)
                for p in conn.scalars(
                    select(webhook_outbox.c.payload).where(
                        webhook_outbox.c.campaign_id == self.campaign_id,
                        webhook_outbox.c.type == "call.outcome",
                    )
                )
            ]
        return people, tries, listed, events

    @invariant()
    def exactly_once(self) -> None:
        people, tries, listed, events = self._rows()
        # at most one dial per attempt, and a dialled attempt is never "not placed"
        assert all(len(jobs) <= 1 for jobs in self.granted.values()), dict(self.granted)
        for a in tries:
            if a.dial_started_at is not None:
                assert a.status != A.NOT_DISPATCHED, a
        # one terminal event per attempt that ended with one, none for the rest
        per_attempt = Counter(e["data"]["attempt_id"] for e in events)
        for a in tries:
            expected = 1 if a.status in WITH_EVENT else 0
            assert per_attempt.get(a.id, 0) == expected, (a.status, per_attempt.get(a.id))
        # opt-outs never lost; no waiting contact with a listed number
        assert self.opted_out <= listed
        for p in people:
            if p.phone in listed:
                assert p.state not in ("pending", "retry_wait"), p
        # counters equal rows
        by_contact: dict[int, list[Any]] = defaultdict(list)
        for a in tries:
            by_contact[a.contact_id].append(a)
        for p in people:
            mine = by_contact[p.id]
            assert p.attempt_seq == len(mine), p
            assert p.attempts == sum(a.status in COUNTED for a in mine), (p, mine)
            open_now = [a for a in mine if a.status in OPEN]
            assert len(open_now) <= 1
            assert (p.state == "in_flight") == bool(open_now), (p.state, open_now)


SETTINGS = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_the_store_keeps_its_promises_under_any_interleaving(store: CampaignStore) -> None:
    run_state_machine_as_test(lambda: AttemptMachine(store), settings=SETTINGS)
