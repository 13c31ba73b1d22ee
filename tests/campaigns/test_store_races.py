"""Two real transactions racing on one attempt, on SQLite and PostgreSQL.

Each test runs the two calls in two threads, each on its own connection. On PostgreSQL
a barrier inside the store makes both transactions read the attempt before either
writes (the very interleaving that let two agents both be allowed to dial); SQLite
writes are `BEGIN IMMEDIATE` and run one after the other, so there the barrier is not
used and the test checks the same outcome for the serial order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from dialtone.campaigns.models import Outcome
from dialtone.campaigns.store import CampaignStore, ClaimLimits, StoreError
from dialtone.campaigns.store import dnc as dnc_module
from dialtone.campaigns.store import outcomes as outcomes_module
from dialtone.db.tables import webhook_outbox

from .conftest import T0, new_campaign
from .helpers import attempt_row

WIDE = ClaimLimits(global_max_concurrent=1000, calls_per_second=1000.0)


def rendezvous(
    monkeypatch: pytest.MonkeyPatch, store: CampaignStore, name: str, parties: int = 2
) -> None:
    """On PostgreSQL, make `outcomes.<name>` (run inside each racing transaction after
    its reads) wait until every party got there."""
    if store.engine.dialect.name != "postgresql":
        return
    barrier = threading.Barrier(parties, timeout=30)
    real: Callable[..., Any] = getattr(outcomes_module, name)

    def meet(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        barrier.wait()
        return result

    monkeypatch.setattr(outcomes_module, name, meet)


def race(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


def test_two_jobs_asking_for_one_permit_at_once_get_one_grant(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_campaign(store, T0, n=1)
    (claim,) = store.claim_due(T0, WIDE)
    store.mark_dispatched(claim.attempt_id, "AD_1", T0)
    rendezvous(monkeypatch, store, "guard")

    def ask(job: str) -> Callable[[], Any]:
        return lambda: store.acquire_dial_permit(
            claim.attempt_id, claim.callback_token, T0, job_id=job
        )

    answers = race(ask("AJ_a"), ask("AJ_b"))
    assert sorted(a.allowed for a in answers) == [False, True]
    winner = "AJ_a" if answers[0].allowed else "AJ_b"
    row = attempt_row(store, claim.attempt_id)
    assert row.dial_job_id == winner and row.dial_started_at == T0
    # the winner asking again (a lost answer) is still allowed; the loser never is
    assert store.acquire_dial_permit(
        claim.attempt_id, claim.callback_token, T0, job_id=winner
    ).allowed
    loser = "AJ_b" if winner == "AJ_a" else "AJ_a"
    assert not store.acquire_dial_permit(
        claim.attempt_id, claim.callback_token, T0, job_id=loser
    ).allowed


def outcome_events(store: CampaignStore, attempt_id: str) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count()).where(
                    webhook_outbox.c.type == "call.outcome",
                    webhook_outbox.c.payload.contains(attempt_id),
                )
            )
            or 0
        )


def test_an_expiry_racing_a_report_ends_the_attempt_once_with_one_event(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_campaign(store, T0, n=1, webhook_url="https://example.test/hook")
    (claim,) = store.claim_due(T0, WIDE)
    store.mark_dispatched(claim.attempt_id, "AD_1", T0)
    assert store.acquire_dial_permit(claim.attempt_id, claim.callback_token, T0).allowed
    rendezvous_settle = store.engine.dialect.name == "postgresql"
    if rendezvous_settle:  # the report reads its row (token check), the expiry its record
        barrier = threading.Barrier(2, timeout=30)
        real_check, real_record = outcomes_module._check_token, outcomes_module._from_call_record

        def check(*args: Any) -> None:
            real_check(*args)
            barrier.wait()

        def record(*args: Any) -> tuple[Outcome, str]:
            found = real_record(*args)
            barrier.wait()
            return found

        monkeypatch.setattr(outcomes_module, "_check_token", check)
        monkeypatch.setattr(outcomes_module, "_from_call_record", record)

    def report() -> object:
        try:
            return store.report_outcome(
                claim.attempt_id, claim.callback_token, Outcome.COMPLETED, "confirmed", T0
            )
        except StoreError as exc:
            return exc

    results = race(report, lambda: store.settle_unreported(claim.attempt_id, T0))
    ended = [r for r in results if r is True]
    assert len(ended) == 1, results
    assert outcome_events(store, claim.attempt_id) == 1
    # and a second expiry or report later changes nothing, emits nothing
    assert store.settle_unreported(claim.attempt_id, T0) is False
    assert outcome_events(store, claim.attempt_id) == 1


def test_two_replicas_expiring_one_attempt_emit_one_event(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_campaign(store, T0, n=1, webhook_url="https://example.test/hook")
    (claim,) = store.claim_due(T0, WIDE)
    store.mark_dispatched(claim.attempt_id, "AD_1", T0)
    assert store.acquire_dial_permit(claim.attempt_id, claim.callback_token, T0).allowed
    rendezvous(monkeypatch, store, "_from_call_record")
    results = race(
        lambda: store.settle_unreported(claim.attempt_id, T0),
        lambda: store.settle_unreported(claim.attempt_id, T0),
    )
    assert sorted(results) == [False, True]
    assert outcome_events(store, claim.attempt_id) == 1


def test_an_opt_out_racing_its_report_lists_the_number_once_and_both_succeed(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's immediate opt-out call and its final report both list the number; on
    PostgreSQL both read "not listed yet" before either inserts, and the second insert
    must not fail the report (a failed report is retried, but the 500 is a false alarm
    and the outcome waits)."""
    new_campaign(store, T0, n=1)
    (claim,) = store.claim_due(T0, WIDE)
    store.mark_dispatched(claim.attempt_id, "AD_1", T0)
    assert store.acquire_dial_permit(claim.attempt_id, claim.callback_token, T0).allowed
    if store.engine.dialect.name == "postgresql":
        barrier = threading.Barrier(2, timeout=30)
        real_among: Callable[..., set[str]] = dnc_module.dnc_among

        def among(*args: Any) -> set[str]:
            found = real_among(*args)
            barrier.wait()
            return found

        monkeypatch.setattr(dnc_module, "dnc_among", among)

    results = race(
        lambda: store.record_opt_out(claim.attempt_id, claim.callback_token, T0),
        lambda: store.report_outcome(
            claim.attempt_id, claim.callback_token, Outcome.OPTED_OUT, "stop calling", T0
        ),
    )
    assert results[1] is True, results
    entry = store.get_dnc(claim.phone)
    assert entry is not None and entry[0] == claim.phone
