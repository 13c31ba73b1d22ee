"""The campaign loop: each tick settles old attempts, claims due contacts, dispatches them.

One tick, in order:
1. `expire_unreported`: dispatched attempts past their own deadline (ring timeout + the
   persona's longest call + a margin) with no report are settled from what the server
   knows: never dialled is released uncounted, dialled ends as its call record says
   (else `unknown`), and the retry policy decides what follows;
2. `renew_leases`: the `dispatching` attempts this scheduler is still sending keep their
   short lease (its heartbeat); `take_over_abandoned`: those whose lease ran out (a
   crash, a kill -9 of this replica or another) are dispatched again within seconds,
   after the dialer looks for the room's existing dispatch: this is the reconciliation
   with LiveKit, and it runs on the first tick after a start;
3. `claim_due`: contacts due and inside their window, within the global and campaign
   concurrency, the daily cap and the trunk's pace, each written as an attempt;
4. each claim is dispatched in its own task at its pacing slot; the tick does not wait
   for them (`drain` does), so one slow LiveKit call does not stop the next tick. Right
   before each CreateDispatch try the task takes the trunk's next send slot from the
   database (`take_send_slot`), shared by every replica: takeovers and late dispatches
   pass through it too, so a trunk's calls per second hold across replicas. A task
   that wakes too late for its slot (a stalled loop, a slow database) takes a fresh
   one instead of sending late, and slots keep headroom for the network's jitter, so
   no second at LiveKit holds more than the trunk's calls per second (`pace`).

Time comes from an injectable clock and sleep, so tests drive the loop deterministically.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..faults import fault_point
from ..metrics import CAMPAIGN_DISPATCHES, CAMPAIGN_SEND_SLOTS_MISSED
from .dialer import Dialer, DispatchKind, DispatchResult
from .pace import DEFAULT_JITTER, TrunkPace
from .store import CampaignStore, Claim, ClaimLimits

logger = logging.getLogger("dialtone.scheduler")

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SchedulerConfig:
    tick_seconds: float = 1.0
    global_max_concurrent: int = 20
    calls_per_second: float = 1.0  # per outbound trunk, never exceeded in any second
    #: what may lie between a send and LiveKit's clock (seconds): the pace's headroom
    pace_jitter: float = DEFAULT_JITTER
    #: the outcome deadline of attempts written before per-attempt deadlines (0004);
    #: newer attempts carry their own (see `store.deadlines`)
    outcome_deadline: timedelta = timedelta(minutes=45)
    #: after a dispatch failure that certainly created nothing: 30 s, 60 s, ... capped
    retry_backoff: timedelta = timedelta(seconds=30)
    retry_backoff_max: timedelta = timedelta(minutes=15)
    #: how long a claim stays this scheduler's without a heartbeat; renewed every tick
    #: while its dispatch runs, so a dead replica's claims are taken over this soon
    lease: timedelta | None = None
    #: a dispatch whose send slot came more than this late re-checks its guard first
    recheck_after: timedelta = timedelta(seconds=1)
    #: fresh send slots a dispatch may take after missing one, before it gives up (the
    #: attempt is released uncounted and claimed again later)
    fresh_slots: int = 20

    def __post_init__(self) -> None:
        if self.calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        if self.global_max_concurrent < 1:
            raise ValueError("global_max_concurrent must be at least 1")


@dataclass
class TickReport:
    claimed: list[Claim] = field(default_factory=list)
    resumed: list[Claim] = field(default_factory=list)
    expired: int = 0
    completed_campaigns: list[str] = field(default_factory=list)


class Scheduler:
    def __init__(
        self,
        store: CampaignStore,
        dialer: Dialer,
        config: SchedulerConfig | None = None,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        budget: Callable[[str], int] | None = None,
    ) -> None:
        self.store = store
        self.dialer = dialer
        self.config = config or SchedulerConfig()
        self.clock = clock
        self._sleep = sleep
        lease = self.config.lease or timedelta(seconds=max(15.0, 10 * self.config.tick_seconds))
        self.pace = TrunkPace(
            calls_per_second=self.config.calls_per_second, jitter=self.config.pace_jitter
        )
        self.limits = ClaimLimits(
            global_max_concurrent=self.config.global_max_concurrent,
            calls_per_second=self.pace.sustained,
            pace_horizon=timedelta(seconds=max(self.config.tick_seconds, 0.001)),
            lease=lease,
            budget=budget,
        )
        self._interval = self.pace.interval
        self._tasks: dict[asyncio.Task[DispatchResult | None], str] = {}
        #: the latest settled dispatches (tests, debugging); bounded: a scheduler runs for
        #: months and must not keep every claim it ever made
        self.results: deque[tuple[Claim, DispatchResult]] = deque(maxlen=1000)

    async def tick(self) -> TickReport:
        report = TickReport()
        now = self.clock()
        report.expired = await asyncio.to_thread(
            self.store.expire_unreported, now, self.config.outcome_deadline
        )
        if self._tasks:
            await asyncio.to_thread(
                self.store.renew_leases, list(self._tasks.values()), now, self.limits.lease
            )
        report.resumed = await asyncio.to_thread(
            self.store.take_over_abandoned, now, self.limits.lease
        )
        report.claimed = await asyncio.to_thread(self.store.claim_due, now, self.limits)
        for claim in [*report.resumed, *report.claimed]:
            task = asyncio.create_task(self._dispatch(claim), name=f"dispatch-{claim.attempt_id}")
            self._tasks[task] = claim.attempt_id
            task.add_done_callback(self._forget)
        report.completed_campaigns = await asyncio.to_thread(self.store.complete_finished, now)
        if report.claimed or report.resumed:
            logger.info(
                "tick: %d claimed, %d resumed, %d expired",
                len(report.claimed),
                len(report.resumed),
                report.expired,
            )
        return report

    async def drain(self) -> None:
        """Wait for every dispatch started so far (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _forget(self, task: asyncio.Task[DispatchResult | None]) -> None:
        self._tasks.pop(task, None)

    @property
    def dispatching(self) -> int:
        return len(self._tasks)

    async def _guard(self, claim: Claim) -> str | None:
        """Right before one CreateDispatch try: may it go, and when (the trunk's limiter).

        The guard (status, pause, DNC, window) runs, then the trunk's next send slot is
        taken; a slot in the future is waited for, and one that came more than
        `recheck_after` late re-runs the guard, so the send follows both. A task that
        is then more than the pace's tolerance past its slot (the loop stalled, the
        database answered late) does not send: it takes a fresh slot, so a late
        dispatch never lands in the same second as those sent on time after it.
        """
        refusal = await asyncio.to_thread(self.store.dispatch_guard, claim.attempt_id, self.clock())
        if refusal is not None:
            return refusal
        for _ in range(self.config.fresh_slots + 1):
            slot = await asyncio.to_thread(
                self.store.take_send_slot, claim.outbound_trunk, self.clock, self._interval
            )
            wait = (slot - self.clock()).total_seconds()
            if wait > 0:
                await self._sleep(wait)
            if wait > self.config.recheck_after.total_seconds():
                refusal = await asyncio.to_thread(
                    self.store.dispatch_guard, claim.attempt_id, self.clock()
                )
                if refusal is not None:
                    return refusal
            fault_point("send_slot_reached")
            if not self.pace.missed(slot, self.clock()):
                return None
            CAMPAIGN_SEND_SLOTS_MISSED.inc()
            logger.info(
                "attempt %s: woke %.2f s after its send slot; taking a fresh one",
                claim.attempt_id,
                (self.clock() - slot).total_seconds(),
            )
        return f"missed {self.config.fresh_slots + 1} send slots in a row on the trunk's pace"

    async def _dispatch(self, claim: Claim) -> DispatchResult | None:
        try:
            wait = (claim.dispatch_at - self.clock()).total_seconds()
            if wait > 0:
                await self._sleep(wait)
            result = await self.dialer.dispatch(claim, lambda: self._guard(claim))
            fault_point("dispatch_sent")  # LiveKit answered; not yet written down
            await asyncio.to_thread(self._settle, claim, result)
        except Exception:
            # The attempt stays `dispatching`; its lease expiry hands it to a later tick.
            logger.exception("dispatching attempt %s failed", claim.attempt_id)
            return None
        self.results.append((claim, result))
        return result

    def _settle(self, claim: Claim, result: DispatchResult) -> None:
        CAMPAIGN_DISPATCHES.labels(result.kind.value).inc()
        now = self.clock()
        store = self.store
        if result.kind is DispatchKind.DISPATCHED:
            store.mark_dispatched(claim.attempt_id, result.dispatch_id, now)
        elif result.kind is DispatchKind.REFUSED:
            store.release_attempt(claim.attempt_id, f"not dialled: {result.reason}", now)
        elif result.kind is DispatchKind.REJECTED:
            store.reject_attempt(
                claim.attempt_id, f"LiveKit refused the dispatch: {result.reason}", now
            )
        elif result.kind is DispatchKind.CONFIG_ERROR:
            store.release_attempt(
                claim.attempt_id,
                f"LiveKit refused the dispatch ({result.reason}); check LIVEKIT_URL, "
                "LIVEKIT_API_KEY and LIVEKIT_API_SECRET, then resume the campaign",
                now,
                pause_campaign=True,
            )
        elif result.kind is DispatchKind.NOT_SENT:
            failures = store.dispatch_failures(claim.contact_id)
            backoff = min(self.config.retry_backoff * 2**failures, self.config.retry_backoff_max)
            store.release_attempt(
                claim.attempt_id,
                f"LiveKit unavailable: {result.reason}",
                now,
                retry_at=now + backoff,
                dispatch_failure=True,
            )
        else:  # UNKNOWN: leave it `dispatching`; the lease expiry reconciles it
            logger.warning(
                "attempt %s: dispatch state unknown (%s); reconciling after the lease",
                claim.attempt_id,
                result.reason,
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until `stop` is set; a failing tick is logged and the loop goes on."""
        logger.info("campaign scheduler started")
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                logger.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.tick_seconds)
        await self.drain()
        logger.info("campaign scheduler stopped")
