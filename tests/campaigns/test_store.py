"""The store: migrations, creation, claims written before dispatch, exclusive claims."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dialtone.campaigns.models import AttemptStatus, ContactState, Outcome
from dialtone.campaigns.pace import DIAL_LEAD
from dialtone.campaigns.store import (
    BadToken,
    CampaignStore,
    ClaimLimits,
    IdempotencyMismatch,
    StoreError,
)
from dialtone.campaigns.store.deadlines import ROOM_FINISHED_GRACE
from dialtone.db.engine import new_engine
from dialtone.db.tables import attempts
from dialtone.db.upgrade import head_revision, upgrade

from .conftest import T0, new_campaign, people, settings
from .helpers import attempt_ids_for, attempt_row, contact_states

WIDE = ClaimLimits(global_max_concurrent=1000, calls_per_second=1000.0)


def test_upgrade_is_idempotent(store: CampaignStore) -> None:
    again = upgrade(store.engine)
    assert again.before == again.head == head_revision()  # nothing to do the second time


def test_create_campaign_marks_dnc_numbers_up_front(store: CampaignStore) -> None:
    store.add_dnc(["+15550200001"], "asked us", T0)
    campaign_id = new_campaign(store, T0, n=3)
    states = contact_states(store, campaign_id)
    assert states["+15550200001"] == ContactState.DNC
    assert states["+15550200000"] == ContactState.PENDING
    assert store.get_campaign(campaign_id).contact_count == 3


def test_idempotency_key_returns_the_first_campaign(store: CampaignStore) -> None:
    key = ("campaigns", "key-1", "a" * 64)
    first, replayed = store.create_campaign(settings(), people(2), T0, idempotency=key)
    again, replayed_again = store.create_campaign(settings(), people(2), T0, idempotency=key)
    assert (again, replayed, replayed_again) == (first, False, True)
    with pytest.raises(IdempotencyMismatch):
        store.create_campaign(
            settings(), people(2), T0, idempotency=("campaigns", "key-1", "b" * 64)
        )
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(attempts)) == 0


def test_claim_writes_the_attempt_before_returning(store: CampaignStore) -> None:
    campaign_id = new_campaign(store, T0, n=2)
    claims = store.claim_due(T0, WIDE)
    assert len(claims) == 2
    rows = attempt_ids_for(store, campaign_id)
    assert {r[0] for r in rows} == {c.attempt_id for c in claims}
    assert {r[2] for r in rows} == {AttemptStatus.DISPATCHING}
    assert all(c.room == f"dt-attempt-{c.attempt_id}" for c in claims)
    assert set(contact_states(store, campaign_id).values()) == {ContactState.IN_FLIGHT}
    assert store.claim_due(T0, WIDE) == []  # nothing left to claim


def test_claim_respects_campaign_and_global_concurrency(store: CampaignStore) -> None:
    a = new_campaign(store, T0, n=10, max_concurrent=3)
    b = new_campaign(store, T0, n=10, max_concurrent=3)
    claims = store.claim_due(T0, ClaimLimits(global_max_concurrent=4, calls_per_second=1000))
    assert len(claims) == 4
    per_campaign = Counter(c.campaign_id for c in claims)
    assert max(per_campaign.values()) <= 3 and set(per_campaign) <= {a, b}


def test_pace_hands_out_slots_per_trunk(store: CampaignStore) -> None:
    new_campaign(store, T0, n=10, max_concurrent=10)
    limits = ClaimLimits(calls_per_second=2.0, pace_horizon=timedelta(seconds=1))
    claims = store.claim_due(T0, limits)
    # slots at +0, +0.5 and +1.0 s are within the 1 s horizon; the next (+1.5 s) is not
    assert [c.dispatch_at - T0 for c in claims] == [
        timedelta(0),
        timedelta(seconds=0.5),
        timedelta(seconds=1),
    ]
    assert store.claim_due(T0, limits) == []
    later = store.claim_due(T0 + timedelta(seconds=2), limits)
    assert [c.dispatch_at - T0 for c in later][:1] == [timedelta(seconds=2)]


def test_outcome_needs_the_attempts_token(store: CampaignStore) -> None:
    new_campaign(store, T0, n=1)
    (claim,) = store.claim_due(T0, WIDE)
    with pytest.raises(BadToken):
        store.report_outcome(claim.attempt_id, "wrong", Outcome.COMPLETED, "", T0)
    assert store.report_outcome(claim.attempt_id, claim.callback_token, Outcome.COMPLETED, "", T0)
    # the same report again is harmless; a different one is a conflict
    assert not store.report_outcome(
        claim.attempt_id, claim.callback_token, Outcome.COMPLETED, "", T0
    )
    with pytest.raises(StoreError, match="already ended"):
        store.report_outcome(claim.attempt_id, claim.callback_token, Outcome.BUSY, "", T0)


def test_dial_permit_is_bound_to_one_job_and_rechecks_dnc(store: CampaignStore) -> None:
    campaign_id = new_campaign(store, T0, n=2)
    first, second = store.claim_due(T0, WIDE)
    token = first.callback_token
    granted = store.acquire_dial_permit(first.attempt_id, token, T0, job_id="AJ_one")
    assert granted.allowed and granted.report_by is not None
    # the same job again (its answer was lost): allowed again, same deadline
    assert store.acquire_dial_permit(first.attempt_id, token, T0, job_id="AJ_one") == granted
    # another job, or a job that does not say which it is: refused
    for other in ("AJ_two", None):
        again = store.acquire_dial_permit(first.attempt_id, token, T0, job_id=other)
        assert not again.allowed and again.reason == "this attempt was already dialled"
    store.add_dnc([second.phone], "asked us", T0)
    refused = store.acquire_dial_permit(second.attempt_id, second.callback_token, T0)
    assert not refused.allowed and refused.reason == "on the do-not-call list"
    assert contact_states(store, campaign_id)[second.phone] == ContactState.DNC


def test_two_schedulers_racing_on_one_database_never_share_a_contact(db_url: str) -> None:
    url = db_url
    setup = new_engine(url)
    upgrade(setup)
    total = 120
    for i in range(4):
        CampaignStore(setup).create_campaign(
            settings(max_concurrent=200), people(total // 4, start=i * 100), T0
        )
    setup.dispose()
    claimed: list[list[str]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    # Every racer starts each round together: on a busy machine one thread could otherwise
    # run all its rounds before another is scheduled, and the test would race nobody.
    rounds = threading.Barrier(4, timeout=60)

    def run(slot: int) -> None:
        engine = new_engine(url)  # its own engine and pool: like another process
        try:
            racer = CampaignStore(engine)
            # small batches: every racer needs many rounds, so they interleave
            limits = ClaimLimits(global_max_concurrent=1000, calls_per_second=1000.0, batch=2)
            for step in range(80):
                rounds.wait()
                now = T0 + timedelta(milliseconds=step)
                claimed[slot].extend(c.phone for c in racer.claim_due(now, limits))
        except BaseException as exc:
            errors.append(exc)
            rounds.abort()  # the others stop waiting for this one
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    every = [p for phones in claimed for p in phones]
    assert len(every) == total
    assert len(set(every)) == total  # no contact claimed twice
    assert sum(1 for phones in claimed if phones) >= 2  # the race really happened
    check = new_engine(url)
    with check.connect() as conn:
        n_attempts = conn.scalar(select(func.count()).select_from(attempts))
    check.dispose()
    assert n_attempts == total


def test_the_trunk_send_limiter_is_shared_by_every_replica(db_url: str) -> None:
    """Two replicas (two engines) taking send slots for one trunk at the same instant get
    slots one interval apart, whatever their own pacing said; another trunk is apart."""
    engines = [new_engine(db_url) for _ in range(2)]
    upgrade(engines[0])
    replicas = [CampaignStore(e) for e in engines]
    interval = timedelta(milliseconds=100)
    try:
        slots = [replicas[i % 2].take_send_slot("ST_a", T0, interval) for i in range(6)]
        assert slots == [T0 + interval * i for i in range(6)]
        assert replicas[1].take_send_slot("ST_b", T0, interval) == T0
        # a dispatch late after a stall does not go out on top of the others: it queues
        late = T0 + timedelta(milliseconds=250)
        assert replicas[0].take_send_slot("ST_a", late, interval) == T0 + interval * 6
        # once the trunk is idle, the next send goes at once
        idle = T0 + timedelta(seconds=5)
        assert replicas[1].take_send_slot("ST_a", idle, interval) == idle
    finally:
        for e in engines:
            e.dispose()


def test_a_live_dialer_keeps_its_claims_and_a_dead_ones_are_taken_over_in_seconds(
    store: CampaignStore,
) -> None:
    new_campaign(store, T0, n=2)
    lease = timedelta(seconds=15)
    limits = ClaimLimits(global_max_concurrent=1000, calls_per_second=1000.0, lease=lease)
    alive, dead = store.claim_due(T0, limits)
    later = T0 + timedelta(seconds=10)
    assert store.renew_leases([alive.attempt_id], later, lease) == 1  # its heartbeat
    taken = store.take_over_abandoned(T0 + timedelta(seconds=16), lease)
    assert [c.attempt_id for c in taken] == [dead.attempt_id]
    assert taken[0].resumed


def test_granted_permits_pace_the_dials_at_the_trunks_rate(db_url: str) -> None:
    """Permits granted at one instant on two replicas (agents retrying together after an
    outage) name dial times one interval apart, at the pace the dispatches were sent."""
    engines = [new_engine(db_url) for _ in range(2)]
    upgrade(engines[0])
    replicas = [CampaignStore(e) for e in engines]
    try:
        new_campaign(replicas[0], T0, n=4)
        claims = replicas[0].claim_due(T0, WIDE)
        interval = timedelta(milliseconds=100)
        for claim in claims:  # the dialer sent them, through the shared limiter
            replicas[0].take_send_slot(claim.outbound_trunk, T0, interval)
        later = T0 + timedelta(seconds=30)
        answers = [
            replicas[i % 2].acquire_dial_permit(c.attempt_id, c.callback_token, later)
            for i, c in enumerate(claims)
        ]
        assert all(a.allowed for a in answers)
        lead = timedelta(seconds=DIAL_LEAD)  # the idle trunk's first slot is a little ahead
        assert [a.dial_at for a in answers] == [later + lead + interval * i for i in range(4)]
    finally:
        for e in engines:
            e.dispose()


def test_an_opt_out_is_listed_with_its_evidence(store: CampaignStore) -> None:
    new_campaign(store, T0, n=1)
    (claim,) = store.claim_due(T0, ClaimLimits(calls_per_second=100))
    assert store.acquire_dial_permit(claim.attempt_id, claim.callback_token, T0).allowed
    store.report_outcome(
        claim.attempt_id, claim.callback_token, Outcome.OPTED_OUT, "opted out by key 9", T0
    )
    listed = store.get_dnc(claim.phone)
    assert listed is not None
    _, reason, at = listed
    assert reason == f"opted out during attempt {claim.attempt_id}: opted out by key 9"
    assert at == T0


def test_a_finished_room_brings_the_attempts_deadline_forward(store: CampaignStore) -> None:
    """LiveKit closed the rooms of two dispatched attempts whose agents died, one after
    dialling and one before: a minute later (not at the end of the longest call) the
    server settles both from what it knows; the one never dialled is not charged."""
    campaign_id = new_campaign(store, T0, n=2)
    dialled, idle = store.claim_due(T0, WIDE)
    for c in (dialled, idle):
        assert store.mark_dispatched(c.attempt_id, "AD_x", T0)
    assert store.acquire_dial_permit(
        dialled.attempt_id, dialled.callback_token, T0, job_id="AJ_1"
    ).allowed
    closed = T0 + timedelta(seconds=20)
    for c in (dialled, idle):
        assert store.room_finished(c.attempt_id, closed, ROOM_FINISHED_GRACE)
    # a second webhook for the same room does not push the deadline back
    assert not store.room_finished(
        dialled.attempt_id, closed + timedelta(seconds=5), ROOM_FINISHED_GRACE
    )
    assert store.expire_unreported(closed + ROOM_FINISHED_GRACE - timedelta(seconds=1)) == 0
    assert store.expire_unreported(closed + ROOM_FINISHED_GRACE + timedelta(seconds=1)) == 2
    rows = {r[0]: r[2] for r in attempt_ids_for(store, campaign_id)}
    assert rows == {
        dialled.attempt_id: AttemptStatus.FINISHED,
        idle.attempt_id: AttemptStatus.NOT_DISPATCHED,
    }
    assert attempt_row(store, dialled.attempt_id).outcome == Outcome.UNKNOWN
    states = contact_states(store, campaign_id)
    assert sorted(states.values()) == sorted([ContactState.PENDING, ContactState.RETRY_WAIT])
    # an attempt already ended is not touched
    assert not store.room_finished(dialled.attempt_id, closed, timedelta(0))


def test_adding_numbers_counts_only_the_newly_listed(store: CampaignStore) -> None:
    assert store.add_dnc(["+15550200001", "+15550200002", "+15550200003"], "asked", T0) == 3
    assert store.add_dnc(["+15550200003", "+15550200004"], "asked again", T0) == 1
    entry = store.get_dnc("+15550200003")
    assert entry is not None and entry[1] == "asked"  # the first reason is kept
