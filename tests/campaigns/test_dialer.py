"""The dialer against the LiveKit double, through the real livekit-api client."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
from livekit.api import LiveKitAPI
from livekit.protocol.agent_dispatch import CreateAgentDispatchRequest

from dialtone.campaigns.dialer import (
    Dialer,
    DialerConfig,
    DispatchApi,
    DispatchKind,
    livekit_session,
    request_id_for,
)
from dialtone.campaigns.store import Claim
from dialtone.wire import room_for
from tests.livekit_double import LiveKitDouble

FAST = DialerConfig(call_timeout=0.3, tries=4, backoff=0.01, backoff_max=0.05)


def make_claim(attempt_id: str = "a" * 32, *, resumed: bool = False) -> Claim:
    return Claim(
        attempt_id=attempt_id,
        number=1,
        room=room_for(attempt_id),
        campaign_id="c" * 32,
        contact_id=7,
        phone="+15550200001",
        name="Ann",
        timezone="America/New_York",
        variables={"appointment": "Tue 3pm"},
        persona="reminder",
        outbound_trunk="ST_trunk1",
        caller_id="+15550100100",
        callback_token="tok-secret",
        dispatch_at=datetime(2026, 6, 10, 15, 0, tzinfo=UTC),
        resumed=resumed,
    )


@contextlib.asynccontextmanager
async def dispatch_api(double: LiveKitDouble, *, pinned: bool = True) -> AsyncIterator[DispatchApi]:
    session = livekit_session() if pinned else aiohttp.ClientSession()
    try:
        yield LiveKitAPI(
            double.url, double.api_key, double.api_secret, session=session
        ).agent_dispatch
    finally:
        await session.close()


async def no_objection() -> str | None:
    return None


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


async def settled(double: LiveKitDouble, method: str, within: float = 5.0) -> None:
    """Wait until every request the double received for `method` has been answered."""
    deadline = time.monotonic() + within
    while any(c.status is None and not c.faulted for c in double.calls_to(method)):
        assert time.monotonic() < deadline, f"{method} requests still pending"
        await asyncio.sleep(0.02)


async def test_create_dispatch_request_is_exact(livekit_double: LiveKitDouble) -> None:
    claim = make_claim()
    async with dispatch_api(livekit_double) as api:
        result = await Dialer(api, FAST).dispatch(claim, no_objection)
    assert result.kind is DispatchKind.DISPATCHED and result.tries == 1
    (call,) = livekit_double.calls_to("CreateDispatch")
    request = call.request
    assert isinstance(request, CreateAgentDispatchRequest)
    assert request.agent_name == "reminder"
    assert request.room == f"dt-attempt-{'a' * 32}"
    assert call.request_id == request_id_for(claim.attempt_id)
    meta = json.loads(request.metadata)
    assert meta == {
        "version": 1,
        "kind": "reminder",
        "attempt_id": claim.attempt_id,
        "attempt_number": 1,
        "campaign_id": claim.campaign_id,
        "contact_id": 7,
        "phone": "+15550200001",
        "name": "Ann",
        "timezone": "America/New_York",
        "persona": "reminder",
        "variables": {"appointment": "Tue 3pm"},
        "outbound_trunk": "ST_trunk1",
        "caller_id": "+15550100100",
        "callback_token": "tok-secret",
    }
    (dispatch,) = livekit_double.state.dispatches.values()
    assert dispatch.id == result.dispatch_id and dispatch.room == claim.room


async def test_a_claim_the_agent_would_refuse_is_not_dispatched(
    livekit_double: LiveKitDouble,
) -> None:
    """A number the job model refuses (a row stored before numbers were checked the
    way they are now) is rejected for that contact, not dispatched to fail in the agent."""
    claim = dataclasses.replace(make_claim(), phone="+12")
    async with dispatch_api(livekit_double) as api:
        result = await Dialer(api, FAST).dispatch(claim, no_objection)
    assert result.kind is DispatchKind.REJECTED and "reminder agent" in result.reason
    assert livekit_double.calls_to("CreateDispatch") == []


async def test_503_then_success_is_one_dispatch(livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("CreateDispatch", code="unavailable")
    sleeps = Sleeps()
    async with dispatch_api(livekit_double) as api:
        result = await Dialer(api, FAST, sleep=sleeps).dispatch(make_claim(), no_objection)
    assert result.kind is DispatchKind.DISPATCHED and result.tries == 2
    assert livekit_double.count("CreateDispatch") == 2
    assert livekit_double.count("ListDispatch") == 1  # looked before trying again
    assert len(livekit_double.state.dispatches) == 1
    assert len(sleeps.calls) == 1 and sleeps.calls[0] > 0


async def test_timeout_then_retry_does_not_double_dispatch(livekit_double: LiveKitDouble) -> None:
    # The first request is answered after 1 s, long after our 0.3 s timeout; the server
    # still acts on it. The retry carries the same request id: one dispatch.
    livekit_double.faults.inject("CreateDispatch", delay=1.0)
    async with dispatch_api(livekit_double) as api:
        result = await Dialer(api, FAST, sleep=Sleeps()).dispatch(make_claim(), no_objection)
        await settled(livekit_double, "CreateDispatch")
    assert result.kind is DispatchKind.DISPATCHED
    assert livekit_double.count("CreateDispatch") == 2
    assert all(c.status == 200 for c in livekit_double.calls_to("CreateDispatch"))
    assert len(livekit_double.state.dispatches) == 1


async def test_without_the_pinned_request_id_that_timeout_would_double_dispatch(
    livekit_double: LiveKitDouble,
) -> None:
    """Control for the test above: it can fail. A plain session gets a new id per call."""
    livekit_double.faults.inject("CreateDispatch", delay=1.0)
    async with dispatch_api(livekit_double, pinned=False) as api:
        await Dialer(api, FAST, sleep=Sleeps()).dispatch(make_claim(), no_objection)
        await settled(livekit_double, "CreateDispatch")
    assert len(livekit_double.state.dispatches) == 2


async def test_dropped_connection_then_retry_is_one_dispatch(livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("CreateDispatch", drop=True)
    async with dispatch_api(livekit_double) as api:
        result = await Dialer(api, FAST, sleep=Sleeps()).dispatch(make_claim(), no_objection)
    assert result.kind is DispatchKind.DISPATCHED
    assert len(livekit_double.state.dispatches) == 1


async def test_resumed_attempt_adopts_the_existing_dispatch(livekit_double: LiveKitDouble) -> None:
    claim = make_claim(resumed=True)
    async with dispatch_api(livekit_double) as api:
        first = await Dialer(api, FAST).dispatch(make_claim(), no_objection)
        livekit_double.calls.clear()
        again = await Dialer(api, FAST).dispatch(claim, no_objection)
    assert again.kind is DispatchKind.DISPATCHED and again.adopted
    assert again.dispatch_id == first.dispatch_id
    assert livekit_double.count("CreateDispatch") == 0
    assert len(livekit_double.state.dispatches) == 1


async def test_guard_refusal_sends_nothing(livekit_double: LiveKitDouble) -> None:
    async def closed() -> str | None:
        return "outside the calling window"

    async with dispatch_api(livekit_double) as api:
        result = await Dialer(api, FAST).dispatch(make_claim(), closed)
    assert result.kind is DispatchKind.REFUSED and "window" in result.reason
    assert livekit_double.count("CreateDispatch") == 0


async def test_guard_is_asked_again_before_a_retry(livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("CreateDispatch", code="unavailable")
    answers = iter([None, "campaign is paused"])

    async def guard() -> str | None:
        return next(answers)

    async with dispatch_api(livekit_double) as api:
        result = await Dialer(api, FAST, sleep=Sleeps()).dispatch(make_claim(), guard)
    assert result.kind is DispatchKind.REFUSED and result.reason == "campaign is paused"
    assert len(livekit_double.state.dispatches) == 0


async def test_error_kinds(livekit_double: LiveKitDouble) -> None:
    cases = [
        ("permission_denied", 1, DispatchKind.CONFIG_ERROR),
        ("invalid_argument", 1, DispatchKind.REJECTED),
        ("unavailable", 10, DispatchKind.UNKNOWN),  # may have landed: reconcile later
        ("resource_exhausted", 10, DispatchKind.NOT_SENT),  # certainly nothing created
    ]
    async with dispatch_api(livekit_double) as api:
        for i, (code, times, kind) in enumerate(cases):
            livekit_double.faults.clear()
            livekit_double.faults.inject("CreateDispatch", code=code, times=times)
            claim = make_claim(f"{i:032d}")
            result = await Dialer(api, FAST, sleep=Sleeps()).dispatch(claim, no_objection)
            assert result.kind is kind, (code, result)
            assert code in result.reason
    assert len(livekit_double.state.dispatches) == 0
