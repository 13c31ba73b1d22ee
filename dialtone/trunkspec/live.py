"""Reading what LiveKit holds, and the narrow client surface dialtone needs.

`SipApi` is the part of `livekit.api.SipService` that plan/apply/export call; typing
against it keeps those modules independent of how the client is built (tests pass the
real client pointed at the API double).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    DeleteSIPDispatchRuleRequest,
    DeleteSIPTrunkRequest,
    ListSIPDispatchRuleRequest,
    ListSIPDispatchRuleResponse,
    ListSIPInboundTrunkRequest,
    ListSIPInboundTrunkResponse,
    ListSIPOutboundTrunkRequest,
    ListSIPOutboundTrunkResponse,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPOutboundTrunkInfo,
    SIPTrunkInfo,
)

from ..config import ConfigError, load_settings

LIST_TIMEOUT_S = 30.0


class SipApi(Protocol):
    async def list_inbound_trunk(
        self, list: ListSIPInboundTrunkRequest
    ) -> ListSIPInboundTrunkResponse: ...
    async def list_outbound_trunk(
        self, list: ListSIPOutboundTrunkRequest
    ) -> ListSIPOutboundTrunkResponse: ...
    async def list_dispatch_rule(
        self, list: ListSIPDispatchRuleRequest
    ) -> ListSIPDispatchRuleResponse: ...
    async def create_inbound_trunk(
        self, create: CreateSIPInboundTrunkRequest
    ) -> SIPInboundTrunkInfo: ...
    async def create_outbound_trunk(
        self, create: CreateSIPOutboundTrunkRequest
    ) -> SIPOutboundTrunkInfo: ...
    async def update_inbound_trunk(
        self, trunk_id: str, trunk: SIPInboundTrunkInfo
    ) -> SIPInboundTrunkInfo: ...
    async def update_outbound_trunk(
        self, trunk_id: str, trunk: SIPOutboundTrunkInfo
    ) -> SIPOutboundTrunkInfo: ...
    async def delete_trunk(self, delete: DeleteSIPTrunkRequest) -> SIPTrunkInfo: ...
    async def create_dispatch_rule(
        self, create: CreateSIPDispatchRuleRequest
    ) -> SIPDispatchRuleInfo: ...
    async def update_dispatch_rule(
        self, rule_id: str, rule: SIPDispatchRuleInfo
    ) -> SIPDispatchRuleInfo: ...
    async def delete_dispatch_rule(
        self, delete: DeleteSIPDispatchRuleRequest
    ) -> SIPDispatchRuleInfo: ...


@dataclass
class LiveState:
    """Every inbound trunk, outbound trunk and dispatch rule the server holds."""

    inbound: list[SIPInboundTrunkInfo] = field(default_factory=list)
    outbound: list[SIPOutboundTrunkInfo] = field(default_factory=list)
    rules: list[SIPDispatchRuleInfo] = field(default_factory=list)


async def read_live(sip: SipApi) -> LiveState:
    """Three List calls without a page: the server then returns every object.

    Bounded by `LIST_TIMEOUT_S`: the client sets no timeout of its own.
    """
    inbound = await asyncio.wait_for(
        sip.list_inbound_trunk(ListSIPInboundTrunkRequest()), LIST_TIMEOUT_S
    )
    outbound = await asyncio.wait_for(
        sip.list_outbound_trunk(ListSIPOutboundTrunkRequest()), LIST_TIMEOUT_S
    )
    rules = await asyncio.wait_for(
        sip.list_dispatch_rule(ListSIPDispatchRuleRequest()), LIST_TIMEOUT_S
    )
    return LiveState(list(inbound.items), list(outbound.items), list(rules.items))


@asynccontextmanager
async def connect() -> AsyncIterator[SipApi]:
    """The SIP client for LIVEKIT_URL/KEY/SECRET; raises ConfigError naming what is missing."""
    from livekit.api import LiveKitAPI

    settings = load_settings()
    settings.require_livekit()
    try:
        api = LiveKitAPI(
            settings.livekit_url,
            settings.livekit_api_key,
            settings.livekit_api_secret.get_secret_value(),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        yield api.sip
    finally:
        await api.aclose()
