"""The server's one lifespan: the background tasks that run beside the routes.

Always the call-record reaper; the webhook sender when asked (every replica may run
it: deliveries are claimed); the scheduler and dialer when asked (replicas share the
work through exclusive claims). Each gets a stop event and up to 30 s to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from ..campaigns.dialer import DialerConfig
from ..campaigns.scheduler import SchedulerConfig
from ..campaigns.webhooks import WebhookConfig
from ..config import Settings
from .calls import reap
from .services import AppServices

logger = logging.getLogger("dialtone.http")

REAP_EVERY = 15.0
STOP_WAIT = 30.0


@dataclass(frozen=True)
class Background:
    """Which background tasks this process runs, and how."""

    run_scheduler: bool = False
    scheduler_config: SchedulerConfig | None = None
    dialer_config: DialerConfig | None = None
    run_webhooks: bool = False
    webhook_config: WebhookConfig | None = None
    reap_every: float = REAP_EVERY


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: AppServices = app.state.services
    plan: Background = app.state.background
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(
            _background(_reaper(services, plan.reap_every), "call-record-reaper")
        )
        if plan.run_webhooks:
            from ..campaigns.webhooks import WebhookSender
            from ..netguard import Allowed

            sender = WebhookSender(
                services.engine,
                services.default_webhook_secret,
                config=plan.webhook_config,
                clock=services.clock,
                allowed=Allowed.from_setting(services.settings.webhook_allow),
            )
            app.state.webhooks = sender
            await stack.enter_async_context(_background(sender.run, "webhook-sender"))
        if plan.run_scheduler:
            app.state.scheduler = await stack.enter_async_context(_dialing(services, plan))
        yield


def _reaper(
    services: AppServices, every: float
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(reap, services)
            except Exception:
                logger.exception("closing expired call records failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    return run


def persona_budgets(settings: Settings) -> Callable[[str], int]:
    """Each persona's outcome budget (ring + max call + margin), read once at start; a
    persona this server cannot read gets the defaults' budget (the worker reports it)."""
    from ..campaigns.store.deadlines import DEFAULT_BUDGET_SECONDS, call_budget
    from ..personas import PersonaBook, PersonaError

    try:
        book = PersonaBook.load(settings.persona_dir, settings.default_persona)
    except PersonaError:
        return lambda _name: DEFAULT_BUDGET_SECONDS
    budgets = {
        name: call_budget(p.reminder.ring_seconds, p.reminder.max_call_seconds)
        for name, p in book.personas.items()
    }
    return lambda name: budgets.get(name, DEFAULT_BUDGET_SECONDS)


@contextlib.asynccontextmanager
async def _dialing(services: AppServices, plan: Background) -> AsyncIterator[Any]:
    """The scheduler, dispatching through LiveKit, for as long as the server runs."""
    from livekit.api import LiveKitAPI

    from ..campaigns.dialer import Dialer, livekit_session
    from ..campaigns.scheduler import Scheduler

    settings = services.settings
    session = livekit_session()
    try:
        lk = LiveKitAPI(
            settings.livekit_url,
            settings.livekit_api_key,
            settings.livekit_api_secret.get_secret_value(),
            session=session,
        )
        scheduler = Scheduler(
            services.campaigns,
            Dialer(lk.agent_dispatch, plan.dialer_config),
            plan.scheduler_config,
            clock=services.clock,
            budget=persona_budgets(settings),
        )
        async with _background(scheduler.run, "campaign-scheduler"):
            yield scheduler
    finally:
        await session.close()


@contextlib.asynccontextmanager
async def _background(
    run: Callable[[asyncio.Event], Coroutine[Any, Any, None]], name: str
) -> AsyncIterator[None]:
    """Run `run(stop)` as a task for the app's lifetime; stop it and wait on the way out."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop), name=name)
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, STOP_WAIT)
