"""One attempt = one `CreateDispatch` of the `reminder` agent into room `dt-attempt-<id>`.

The livekit-api client sets no timeout and does not retry against self-hosted URLs
(tests/livekit_double/README.md), so every call here is bounded by `asyncio.wait_for`
and retried with backoff. A retry must never dispatch the agent twice, so three things
make the attempt idempotent:

1. every CreateDispatch for an attempt carries the same `X-Livekit-Request-Id`, derived
   from the attempt id: the LiveKit server derives the dispatch id from it
   (`DeterministicID`), so a request that timed out on our side but still landed, and
   its retry, are one dispatch;
2. after any answer that leaves it unclear whether the dispatch happened (timeout,
   dropped connection, 5xx) and before trying again, the room's dispatches are listed
   and an existing `reminder` dispatch is adopted instead of creating another;
3. at dial time the agent must take a single-use dial permit from the store
   (`CampaignStore.acquire_dial_permit`), so even two agents in one room place one call.

Before every create the scheduler's guard re-checks the campaign status, the calling
window and the do-not-call list, so a retry minutes later cannot call at the wrong time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from types import SimpleNamespace
from typing import Protocol

import aiohttp
from livekit.api.twirp_client import REQUEST_ID_HEADER, ServerError
from livekit.protocol.agent_dispatch import AgentDispatch, CreateAgentDispatchRequest
from pydantic import SecretStr, ValidationError

from ..wire import REMINDER, ReminderJob
from .store import Claim

logger = logging.getLogger("dialtone.dialer")

_NAMESPACE = uuid.UUID("6c3e1d8e-6a55-4b8e-9d55-2a7f3c0d1a10")

#: Twirp codes that mean our set-up is wrong (key, grants, URL): no contact can be
#: dispatched until an operator fixes it, so the campaign pauses instead of burning
#: through its contacts.
CONFIG_CODES = frozenset({"unauthenticated", "permission_denied", "bad_route", "unimplemented"})
#: 4xx that certainly created nothing but may pass on a later try.
NOT_SENT_TRANSIENT_CODES = frozenset({"resource_exhausted"})
#: 4xx that may mean the dispatch exists, or the server gave up after acting on it.
MAYBE_SENT_CODES = frozenset({"already_exists", "aborted", "deadline_exceeded", "canceled"})

_REQUEST_ID: ContextVar[str | None] = ContextVar("dialtone_livekit_request_id", default=None)


class DispatchApi(Protocol):
    """The part of `livekit.api.AgentDispatchService` the dialer uses."""

    async def create_dispatch(self, req: CreateAgentDispatchRequest) -> AgentDispatch: ...
    async def list_dispatch(self, room_name: str) -> list[AgentDispatch]: ...


async def _pin_request_id(
    _session: aiohttp.ClientSession, _ctx: SimpleNamespace, params: aiohttp.TraceRequestStartParams
) -> None:
    request_id = _REQUEST_ID.get()
    if request_id is not None:
        params.headers[REQUEST_ID_HEADER] = request_id  # documented as mutable


def livekit_session() -> aiohttp.ClientSession:
    """An aiohttp session for `LiveKitAPI(session=...)` that can pin the request id."""
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_pin_request_id)
    return aiohttp.ClientSession(trace_configs=[trace])


@contextlib.contextmanager
def pinned_request_id(request_id: str) -> Iterator[None]:
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


def request_id_for(attempt_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"dispatch:{attempt_id}"))


def dispatch_metadata(claim: Claim) -> str:
    """The job metadata the reminder agent receives: `ReminderJob`, which it reads back.

    Raises `ValidationError` for a claim the worker would refuse to run (a number that
    is not E.164, say): better refused here, for this contact, than dispatched.
    """
    return ReminderJob(
        version=1,
        kind="reminder",
        attempt_id=claim.attempt_id,
        attempt_number=claim.number,
        campaign_id=claim.campaign_id,
        contact_id=claim.contact_id,
        phone=claim.phone,
        name=claim.name,
        timezone=claim.timezone,
        persona=claim.persona,
        variables=claim.variables,
        outbound_trunk=claim.outbound_trunk,
        caller_id=claim.caller_id,
        callback_token=SecretStr(claim.callback_token),
    ).to_metadata()


class DispatchKind(StrEnum):
    DISPATCHED = "dispatched"
    REFUSED = "refused"  # the guard said no; nothing was sent
    NOT_SENT = "not_sent"  # every try failed in a way that certainly created nothing
    REJECTED = "rejected"  # LiveKit refused this request (4xx): this contact only
    CONFIG_ERROR = "config_error"  # LiveKit refused us (auth, URL): every contact
    UNKNOWN = "unknown"  # gave up not knowing; the attempt stays `dispatching`


@dataclass(frozen=True)
class DispatchResult:
    kind: DispatchKind
    dispatch_id: str = ""
    reason: str = ""
    tries: int = 0
    adopted: bool = False  # found already dispatched (a previous try or process)


@dataclass(frozen=True)
class DialerConfig:
    call_timeout: float = 10.0  # seconds per LiveKit call
    tries: int = 4
    backoff: float = 0.5  # first retry delay; doubles, capped, jittered
    backoff_max: float = 8.0

    def worst_case(self) -> float:
        """Seconds one `dispatch` can take at most (a create and a list per try)."""
        backoffs = sum(
            min(self.backoff_max, self.backoff * 2.0**i) * 1.2 for i in range(self.tries)
        )
        return self.tries * 2 * self.call_timeout + backoffs


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ServerError):
        return f"{exc.code} ({exc.status}): {exc.message}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


class Dialer:
    """Dispatches the reminder agent for claimed attempts."""

    def __init__(
        self,
        api: DispatchApi,
        config: DialerConfig | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        agent_name: str = REMINDER,
        rng: random.Random | None = None,
    ) -> None:
        self.api = api
        self.config = config or DialerConfig()
        self._sleep = sleep
        self.agent_name = agent_name
        self._rng = rng or random.Random()

    def _backoff(self, retry: int) -> float:
        base = min(self.config.backoff_max, self.config.backoff * 2.0 ** (retry - 1))
        return base * (0.8 + 0.4 * self._rng.random())

    async def _find_existing(self, room: str) -> AgentDispatch | None:
        found = await asyncio.wait_for(self.api.list_dispatch(room), self.config.call_timeout)
        return next((d for d in found if d.agent_name == self.agent_name), None)

    async def dispatch(
        self, claim: Claim, guard: Callable[[], Awaitable[str | None]]
    ) -> DispatchResult:
        """Dispatch once, whatever fails on the way; see the module docstring."""
        try:
            metadata = dispatch_metadata(claim)
        except ValidationError as exc:
            reason = f"not a job the reminder agent can run: {exc.error_count()} problem(s)"
            return DispatchResult(DispatchKind.REJECTED, reason=reason)
        request = CreateAgentDispatchRequest(
            agent_name=self.agent_name, room=claim.room, metadata=metadata
        )
        # A resumed attempt may have reached LiveKit from a dialer that died.
        maybe_sent = claim.resumed
        last = "no try made"
        for attempt in range(1, self.config.tries + 1):
            if attempt > 1:
                await self._sleep(self._backoff(attempt - 1))
            if maybe_sent:
                try:
                    existing = await self._find_existing(claim.room)
                except (ServerError, TimeoutError, aiohttp.ClientError) as exc:
                    last = f"listing the room's dispatches failed: {_describe(exc)}"
                    logger.warning("attempt %s: %s", claim.attempt_id, last)
                    if isinstance(exc, ServerError) and exc.code in CONFIG_CODES:
                        return DispatchResult(DispatchKind.UNKNOWN, reason=last, tries=attempt)
                    continue
                if existing is not None:
                    return DispatchResult(
                        DispatchKind.DISPATCHED, existing.id, tries=attempt, adopted=True
                    )
            refusal = await guard()
            if refusal is not None:
                return DispatchResult(DispatchKind.REFUSED, reason=refusal, tries=attempt)
            try:
                with pinned_request_id(request_id_for(claim.attempt_id)):
                    made = await asyncio.wait_for(
                        self.api.create_dispatch(request), self.config.call_timeout
                    )
            except ServerError as exc:
                last = _describe(exc)
                if exc.status >= 500 or exc.code in MAYBE_SENT_CODES:
                    maybe_sent = True
                elif exc.code in NOT_SENT_TRANSIENT_CODES:
                    pass
                elif exc.code in CONFIG_CODES:
                    return DispatchResult(DispatchKind.CONFIG_ERROR, reason=last, tries=attempt)
                else:
                    return DispatchResult(DispatchKind.REJECTED, reason=last, tries=attempt)
            except (TimeoutError, aiohttp.ClientError) as exc:
                last = _describe(exc)
                maybe_sent = True
            else:
                return DispatchResult(DispatchKind.DISPATCHED, made.id, tries=attempt)
            logger.warning(
                "attempt %s: CreateDispatch try %d failed: %s", claim.attempt_id, attempt, last
            )
        if maybe_sent:
            return DispatchResult(DispatchKind.UNKNOWN, reason=last, tries=self.config.tries)
        return DispatchResult(DispatchKind.NOT_SENT, reason=last, tries=self.config.tries)
