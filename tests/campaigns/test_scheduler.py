"""The scheduler with a controlled clock, dispatching through the LiveKit double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from livekit.api import LiveKitAPI
from livekit.protocol.agent_dispatch import AgentDispatch, CreateAgentDispatchRequest
from sqlalchemy import insert, select

from dialtone.campaigns.dialer import Dialer, DialerConfig, DispatchApi, livekit_session
from dialtone.campaigns.models import AttemptStatus, CampaignStatus, ContactState, Outcome
from dialtone.campaigns.pace import LATE_TOLERANCE, TrunkPace
from dialtone.campaigns.scheduler import Scheduler, SchedulerConfig
from dialtone.campaigns.store import CampaignStore, ClaimLimits
from dialtone.campaigns.store.deadlines import call_budget
from dialtone.db.tables import call_records, trunk_sends
from tests.livekit_double import LiveKitDouble

from .conftest import WINDOW_ONLY_RULES, FakeClock, new_campaign, people, settings
from .helpers import attempt_ids_for, attempt_row, contact_states, on_dnc

FAST = DialerConfig(call_timeout=1.0, tries=3, backoff=0.01, backoff_max=0.05)
CONFIG = SchedulerConfig(
    global_max_concurrent=50, calls_per_second=100.0, lease=timedelta(minutes=2)
)


@pytest.fixture
async def api(livekit_double: LiveKitDouble) -> AsyncIterator[LiveKitAPI]:
    session = livekit_session()
    yield LiveKitAPI(
        livekit_double.url, livekit_double.api_key, livekit_double.api_secret, session=session
    )
    await session.close()


def make_scheduler(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock, **config: Any
) -> Scheduler:
    cfg = SchedulerConfig(**{**CONFIG.__dict__, **config})
    dialer = Dialer(api.agent_dispatch, FAST, sleep=clock.sleep)
    return Scheduler(store, dialer, cfg, clock=clock, sleep=clock.sleep)


async def run_tick(scheduler: Scheduler) -> int:
    report = await scheduler.tick()
    await scheduler.drain()
    return len(report.claimed) + len(report.resumed)


def finish_all(store: CampaignStore, scheduler: Scheduler, outcome: Outcome, now: datetime) -> None:
    for claim, _ in scheduler.results:
        try:
            store.report_outcome(claim.attempt_id, claim.callback_token, outcome, "", now)
        except Exception:
            continue
    scheduler.results.clear()


async def test_campaign_concurrency_holds_until_outcomes_arrive(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock, livekit_double: LiveKitDouble
) -> None:
    campaign_id = new_campaign(store, clock.now, n=7, max_concurrent=3)
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 3
    assert await run_tick(sched) == 0  # all three still in a call
    assert len(livekit_double.state.dispatches) == 3
    first_claim = sched.results[0][0]
    store.report_outcome(
        first_claim.attempt_id, first_claim.callback_token, Outcome.COMPLETED, "", clock.now
    )
    assert await run_tick(sched) == 1
    progress = store.progress(campaign_id, clock.now)
    assert progress.contacts["in_flight"] == 3 and progress.contacts["completed"] == 1


async def test_daily_cap_holds_and_resets_on_the_next_local_day(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock
) -> None:
    campaign_id = new_campaign(store, clock.now, n=5, max_concurrent=5, daily_cap=2)
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 2
    finish_all(store, sched, Outcome.COMPLETED, clock.now)
    assert await run_tick(sched) == 0  # cap reached for today (New York day)
    clock.now = datetime(2026, 6, 11, 3, 59, tzinfo=UTC)  # 23:59 in New York: same day
    assert await run_tick(sched) == 0
    clock.now = datetime(2026, 6, 11, 13, 0, tzinfo=UTC)  # 09:00 next day in New York
    assert await run_tick(sched) == 2
    assert store.progress(campaign_id, clock.now).calls_today == 2


async def test_retry_policy_per_outcome(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock
) -> None:
    campaign_id = new_campaign(
        store,
        clock.now,
        n=6,
        retry={"max_attempts": 2, "delays": {"busy": 600, "voicemail": None}},
    )
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 5  # max_concurrent 5
    outcomes = [
        Outcome.BUSY,
        Outcome.VOICEMAIL,
        Outcome.COMPLETED,
        Outcome.INVALID_NUMBER,
        Outcome.OPTED_OUT,
    ]
    claims = [claim for claim, _ in sched.results]
    for claim, outcome in zip(claims, outcomes, strict=True):
        store.report_outcome(claim.attempt_id, claim.callback_token, outcome, "", clock.now)
    sched.results.clear()
    states = contact_states(store, campaign_id)
    assert [states[c.phone] for c in claims] == [
        ContactState.RETRY_WAIT,
        ContactState.EXHAUSTED,  # voicemail: null delay = do not call again
        ContactState.COMPLETED,
        ContactState.FAILED,
        ContactState.DNC,
    ]
    assert on_dnc(store, claims[4].phone)
    assert await run_tick(sched) == 1  # the sixth contact; the busy one waits 600 s
    finish_all(store, sched, Outcome.COMPLETED, clock.now)
    clock.advance(599)
    assert await run_tick(sched) == 0
    clock.advance(1)
    assert await run_tick(sched) == 1
    (retry_claim, _) = sched.results[0]
    assert retry_claim.phone == claims[0].phone and retry_claim.number == 2
    store.report_outcome(
        retry_claim.attempt_id, retry_claim.callback_token, Outcome.BUSY, "", clock.now
    )
    assert contact_states(store, campaign_id)[claims[0].phone] == ContactState.EXHAUSTED
    await run_tick(sched)
    assert store.get_campaign(campaign_id).status is CampaignStatus.COMPLETED


async def test_dnc_is_rechecked_at_dial_time(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock, livekit_double: LiveKitDouble
) -> None:
    campaign_id = new_campaign(store, clock.now, n=1)
    phone = "+15550200000"
    # The first CreateDispatch fails; while the dialer backs off, the patient opts out.
    livekit_double.faults.inject("CreateDispatch", code="unavailable")

    async def sleep_and_opt_out(seconds: float) -> None:
        store.add_dnc([phone], "called the clinic to opt out", clock.now)

    sched = make_scheduler(store, api, clock)
    sched.dialer._sleep = sleep_and_opt_out
    assert await run_tick(sched) == 1
    assert livekit_double.state.dispatches == {}
    assert contact_states(store, campaign_id)[phone] == ContactState.DNC
    (attempt,) = attempt_ids_for(store, campaign_id)
    assert attempt[2] == AttemptStatus.NOT_DISPATCHED


async def test_pause_resume_cancel(store: CampaignStore, api: LiveKitAPI, clock: FakeClock) -> None:
    campaign_id = new_campaign(store, clock.now, n=4, max_concurrent=1)
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 1
    in_call = sched.results[0][0]
    store.set_status(campaign_id, "pause", clock.now)
    finish_all(store, sched, Outcome.COMPLETED, clock.now)
    assert await run_tick(sched) == 0
    store.set_status(campaign_id, "resume", clock.now)
    assert await run_tick(sched) == 1
    second = sched.results[0][0]
    store.set_status(campaign_id, "cancel", clock.now)
    assert await run_tick(sched) == 0
    store.report_outcome(second.attempt_id, second.callback_token, Outcome.BUSY, "", clock.now)
    states = contact_states(store, campaign_id)
    assert states[in_call.phone] == ContactState.COMPLETED
    assert states[second.phone] == ContactState.CANCELLED  # busy, but the campaign is over
    assert sorted(states.values()).count(ContactState.CANCELLED) == 3
    assert store.get_campaign(campaign_id).status is CampaignStatus.CANCELLED


async def test_each_contact_is_called_inside_its_own_window(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock
) -> None:
    # 15:00 UTC: 11:00 in New York, 08:00 in Los Angeles, 00:00 in Tokyo
    ny = new_campaign(store, clock.now, n=1, zone="America/New_York")
    la, _ = store.create_campaign(
        settings(), people(1, zone="America/Los_Angeles", start=10), clock.now
    )
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 1
    assert set(contact_states(store, ny).values()) == {ContactState.IN_FLIGHT}
    assert set(contact_states(store, la).values()) == {ContactState.PENDING}
    finish_all(store, sched, Outcome.COMPLETED, clock.now)  # New York's call is over
    clock.advance(3599)
    assert await run_tick(sched) == 0  # 08:59:59 in Los Angeles
    clock.advance(1)
    assert await run_tick(sched) == 1


async def test_window_across_midnight(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock
) -> None:
    store.rules = WINDOW_ONLY_RULES  # the legal floor forbids 01:30 (test_policy_wiring)
    clock.now = datetime(2026, 6, 13, 5, 30, tzinfo=UTC)  # Saturday 01:30 in New York
    campaign_id = new_campaign(
        store, clock.now, n=2, window={"start": "20:00", "end": "02:00", "days": ["fri"]}
    )
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 2  # Friday's window is still open
    finish_all(store, sched, Outcome.NO_ANSWER, clock.now)
    clock.now = datetime(2026, 6, 13, 7, 0, tzinfo=UTC)  # 03:00 Saturday: closed
    assert await run_tick(sched) == 0
    states = contact_states(store, campaign_id)
    assert set(states.values()) == {ContactState.RETRY_WAIT}
    clock.now = datetime(2026, 6, 20, 0, 0, tzinfo=UTC)  # Friday 20:00 EDT
    assert await run_tick(sched) == 2


async def test_spring_forward_day_waits_for_the_real_opening(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock
) -> None:
    store.rules = WINDOW_ONLY_RULES  # the legal floor forbids 03:00 (test_policy_wiring)
    clock.now = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 EST; 02:xx will not exist
    new_campaign(store, clock.now, n=1, window={"start": "02:30", "end": "05:00", "days": ["sun"]})
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 0
    clock.now = datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)
    assert await run_tick(sched) == 0
    clock.now = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert await run_tick(sched) == 1


async def test_crash_after_claim_is_reconciled_after_the_lease(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock, livekit_double: LiveKitDouble
) -> None:
    campaign_id = new_campaign(store, clock.now, n=2)
    # A scheduler claimed both and died: one dispatch reached LiveKit, one did not.
    limits = ClaimLimits(calls_per_second=100, lease=timedelta(minutes=2))
    landed, lost = store.claim_due(clock.now, limits)
    dialer = Dialer(api.agent_dispatch, FAST)
    await dialer.dispatch(landed, _ok)
    livekit_double.calls.clear()
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 0  # leases still held by the dead scheduler
    clock.advance(121)
    assert await run_tick(sched) == 2
    assert livekit_double.count("CreateDispatch") == 1  # only the lost one is created
    assert len(livekit_double.state.dispatches) == 2
    rooms = sorted(d.room for d in livekit_double.state.dispatches.values())
    assert rooms == sorted([landed.room, lost.room])
    statuses = {a[0]: a[2] for a in attempt_ids_for(store, campaign_id)}
    assert set(statuses.values()) == {AttemptStatus.DISPATCHED}
    # the old callback token (held by the agent already in the room) still works
    store.report_outcome(landed.attempt_id, landed.callback_token, Outcome.COMPLETED, "", clock.now)


async def _ok() -> str | None:
    return None


async def test_an_attempt_never_dialled_by_its_deadline_is_released_uncharged(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock
) -> None:
    campaign_id = new_campaign(store, clock.now, n=1, retry={"max_attempts": 1})
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 1
    ((first, _, _),) = attempt_ids_for(store, campaign_id)
    clock.advance(minutes=31)  # the agent never asked for its permit
    report = await sched.tick()
    await sched.drain()
    assert report.expired == 1
    # not charged: with max_attempts 1 the person is still called, by a new attempt
    assert len(report.claimed) == 1
    assert attempt_row(store, first).status == AttemptStatus.NOT_DISPATCHED


async def test_a_dialled_attempt_with_no_report_settles_from_its_call_record(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock
) -> None:
    campaign_id = new_campaign(store, clock.now, n=2)
    sched = make_scheduler(store, api, clock)
    assert await run_tick(sched) == 2
    busy, silent = sched.results[0][0], sched.results[1][0]
    for claim in (busy, silent):
        assert store.acquire_dial_permit(claim.attempt_id, claim.callback_token, clock.now).allowed
    with store.engine.begin() as conn:
        conn.execute(
            insert(call_records).values(
                id="rec1",
                status="ended",
                direction="outbound",
                attempt_id=busy.attempt_id,
                started_at=clock.now,
                ended_at=clock.now,
                outcome="busy",
                sip_status_code=486,
                updated_at=clock.now,
            )
        )
    clock.advance(minutes=31)
    report = await sched.tick()
    assert report.expired == 2
    assert attempt_row(store, busy.attempt_id).outcome == Outcome.BUSY
    assert attempt_row(store, silent.attempt_id).outcome == Outcome.UNKNOWN
    assert set(contact_states(store, campaign_id).values()) == {ContactState.RETRY_WAIT}


async def test_a_long_call_is_not_expired_mid_call(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock
) -> None:
    """The deadline comes from the persona (ring + max call + margin), not a fixed 45 min."""
    campaign_id = new_campaign(store, clock.now, n=1)
    cfg = SchedulerConfig(**CONFIG.__dict__)
    dialer = Dialer(api.agent_dispatch, FAST, sleep=clock.sleep)
    sched = Scheduler(
        store, dialer, cfg, clock=clock, sleep=clock.sleep, budget=lambda _p: call_budget(30, 3600)
    )
    assert await run_tick(sched) == 1
    claim = sched.results[0][0]
    assert store.acquire_dial_permit(claim.attempt_id, claim.callback_token, clock.now).allowed
    clock.advance(minutes=50)  # an hour-long call allowed by the persona is still going
    assert (await sched.tick()).expired == 0
    assert set(contact_states(store, campaign_id).values()) == {ContactState.IN_FLIGHT}
    clock.advance(minutes=15)  # past 30 s + 3600 s + the margin
    assert (await sched.tick()).expired == 1


async def test_livekit_config_error_pauses_the_campaign_and_loses_no_one(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock, livekit_double: LiveKitDouble
) -> None:
    campaign_id = new_campaign(store, clock.now, n=3)
    livekit_double.faults.inject("CreateDispatch", code="unauthenticated", times=10)
    sched = make_scheduler(store, api, clock)
    await run_tick(sched)
    campaign = store.get_campaign(campaign_id)
    assert campaign.status is CampaignStatus.PAUSED
    assert campaign.status_reason is not None and "LIVEKIT_API_KEY" in campaign.status_reason
    assert set(contact_states(store, campaign_id).values()) == {ContactState.PENDING}
    livekit_double.faults.clear()
    store.set_status(campaign_id, "resume", clock.now)
    assert await run_tick(sched) == 3
    assert len(livekit_double.state.dispatches) == 3


async def test_pace_spaces_dispatches_per_trunk(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock, livekit_double: LiveKitDouble
) -> None:
    """2 calls per second, with the pace's headroom: slots 0.6 s apart, so a one-second
    horizon claims two."""
    new_campaign(store, clock.now, n=4)
    sched = make_scheduler(store, api, clock, calls_per_second=2.0, tick_seconds=1.0)
    assert sched.pace.interval == timedelta(seconds=0.6)
    start = clock.now
    report = await sched.tick()
    await sched.drain()
    assert [c.dispatch_at - start for c in report.claimed] == [
        timedelta(0),
        timedelta(seconds=0.6),
    ]
    assert len(livekit_double.state.dispatches) == 2


class RecordingDispatch:
    """The dispatch API with the fake time LiveKit got each CreateDispatch at."""

    def __init__(self, inner: DispatchApi, clock: FakeClock) -> None:
        self.inner = inner
        self.clock = clock
        self.sent: list[datetime] = []

    async def create_dispatch(self, req: CreateAgentDispatchRequest) -> AgentDispatch:
        self.sent.append(self.clock.now)
        return await self.inner.create_dispatch(req)

    async def list_dispatch(self, room_name: str) -> list[AgentDispatch]:
        return await self.inner.list_dispatch(room_name)


async def test_a_dispatch_that_wakes_late_for_its_send_slot_takes_a_fresh_one(
    store: CampaignStore, api: LiveKitAPI, clock: FakeClock
) -> None:
    """Other replicas hold the trunk's next five send slots; this dispatch's wait for
    the sixth overruns by half a second (its loop stalled). Sent then, it would land on
    top of the dispatches sent on time after its slot: it takes a fresh slot instead,
    and LiveKit gets it within the pace's tolerance of the slot it holds."""
    new_campaign(store, clock.now, n=1)
    stalls = [0.5]

    async def stalled_sleep(seconds: float) -> None:
        await clock.sleep(seconds + (stalls.pop() if stalls else 0.0))

    recording = RecordingDispatch(api.agent_dispatch, clock)
    config = SchedulerConfig(**{**CONFIG.__dict__, "calls_per_second": 10.0})
    dialer = Dialer(recording, FAST, sleep=clock.sleep)
    sched = Scheduler(store, dialer, config, clock=clock, sleep=stalled_sleep)
    interval = TrunkPace(calls_per_second=10.0).interval
    trunk = settings().outbound_trunk
    for _ in range(5):
        store.take_send_slot(trunk, clock.now, interval)
    assert await run_tick(sched) == 1
    assert not stalls  # the stall happened
    assert len(recording.sent) == 1
    with store.engine.connect() as conn:
        next_at = conn.scalar(select(trunk_sends.c.next_at).where(trunk_sends.c.trunk == trunk))
    held = next_at - interval  # the latest send slot taken: the one it was sent for
    assert timedelta(0) <= recording.sent[0] - held <= timedelta(seconds=LATE_TOLERANCE)
