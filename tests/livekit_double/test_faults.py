"""Injected faults, and how the real client's retry logic meets them."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from livekit import api
from livekit.protocol.sip import (
    CreateSIPInboundTrunkRequest,
    ListSIPInboundTrunkRequest,
    SIPInboundTrunkInfo,
)

from . import LiveKitDouble

LIST = ListSIPInboundTrunkRequest()


def create(n: str) -> CreateSIPInboundTrunkRequest:
    return CreateSIPInboundTrunkRequest(trunk=SIPInboundTrunkInfo(numbers=[n]))


async def test_503_once_is_retried_with_the_same_request_id(livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("CreateSIPInboundTrunk", code="unavailable")
    async with livekit_double.client(cloud=True) as lk:  # retries only engage for Cloud hosts
        t = await lk.sip.create_inbound_trunk(create("+1"))
    first, second = livekit_double.calls_to("CreateSIPInboundTrunk")
    assert (first.status, first.code, first.faulted) == (503, "unavailable", True)
    assert second.status == 200 and not second.faulted
    assert first.request_id == second.request_id != ""
    assert list(livekit_double.state.inbound_trunks) == [t.sip_trunk_id]
    assert livekit_double.region_lookups == 1  # the client asked for other regions first


async def test_no_retry_for_a_self_hosted_url(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    """The client only fails over for *.livekit.cloud; a plain URL gets one attempt."""
    livekit_double.faults.inject("ListSIPInboundTrunk", code="unavailable")
    with pytest.raises(api.TwirpError) as info:
        await lk.sip.list_inbound_trunk(LIST)
    assert (info.value.status, info.value.code) == (503, "unavailable")
    assert livekit_double.count("ListSIPInboundTrunk") == 1


async def test_4xx_is_not_retried(livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("ListSIPInboundTrunk", code="invalid_argument", msg="nope")
    async with livekit_double.client(cloud=True) as lk:
        with pytest.raises(api.TwirpError) as info:
            await lk.sip.list_inbound_trunk(LIST)
    assert (info.value.status, info.value.message) == (400, "nope")
    assert livekit_double.count("ListSIPInboundTrunk") == 1


async def test_outage_outlasting_retries(livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("ListSIPInboundTrunk", code="internal", times=3)
    async with livekit_double.client(cloud=True) as lk:
        with pytest.raises(api.TwirpError) as info:
            await lk.sip.list_inbound_trunk(LIST)
    assert info.value.status == 500
    calls = livekit_double.calls_to("ListSIPInboundTrunk")
    assert len(calls) == 3 and len({c.request_id for c in calls}) == 1
    assert livekit_double.faults.pending == []


async def test_nth_call(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("CreateSIPInboundTrunk", nth=2, code="unavailable")
    await lk.sip.create_inbound_trunk(create("+1"))
    with pytest.raises(api.TwirpError):
        await lk.sip.create_inbound_trunk(create("+2"))
    await lk.sip.create_inbound_trunk(create("+3"))
    assert [c.status for c in livekit_double.calls] == [200, 503, 200]
    assert len(livekit_double.state.inbound_trunks) == 2  # the faulted call changed nothing


async def test_other_methods_unaffected(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("DeleteSIPTrunk", code="unavailable")
    await lk.sip.list_inbound_trunk(LIST)
    assert len(livekit_double.faults.pending) == 1


async def test_dropped_connection(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("ListSIPInboundTrunk", drop=True)
    with pytest.raises(aiohttp.ClientError):
        await lk.sip.list_inbound_trunk(LIST)
    assert livekit_double.calls[-1].status is None and livekit_double.calls[-1].faulted
    await lk.sip.list_inbound_trunk(LIST)  # one-shot: the next call goes through


async def test_dropped_connection_is_retried_on_cloud(livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("CreateSIPInboundTrunk", drop=True)
    async with livekit_double.client(cloud=True) as lk:
        await lk.sip.create_inbound_trunk(create("+1"))
    first, second = livekit_double.calls_to("CreateSIPInboundTrunk")
    assert first.status is None and second.status == 200
    assert first.request_id == second.request_id


async def test_delay(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    livekit_double.faults.inject("ListSIPInboundTrunk", delay=0.3)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(lk.sip.list_inbound_trunk(LIST), timeout=0.1)


async def test_client_ignores_its_session_timeout(livekit_double: LiveKitDouble) -> None:
    """livekit-api 1.2.2 passes ``timeout=None`` per request, which aiohttp reads as "no
    timeout": LiveKitAPI's 10 s default (or a session timeout) never applies to ordinary
    calls. Callers must bound calls themselves (asyncio.wait_for)."""
    livekit_double.faults.inject("ListSIPInboundTrunk", delay=0.3)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.1)) as session:
        lk = api.LiveKitAPI(
            livekit_double.url, livekit_double.api_key, livekit_double.api_secret, session=session
        )
        await lk.sip.list_inbound_trunk(LIST)  # no TimeoutError despite total=0.1
    assert livekit_double.calls[-1].status == 200


def test_inject_arguments_are_checked() -> None:
    d = LiveKitDouble()
    with pytest.raises(ValueError):
        d.faults.inject("X", code="teapot")
    with pytest.raises(ValueError):
        d.faults.inject("X")
    with pytest.raises(ValueError):
        d.faults.inject("X", code="internal", nth=0)
