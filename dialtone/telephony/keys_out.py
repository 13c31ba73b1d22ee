"""Sending keys into a phone menu on one SIP leg only.

`LocalParticipant.publish_dtmf` (livekit rtc) sends a key to every SIP participant in
the room: on a call with a second leg (a transfer, a supervisor) the other phone would
hear our menu keys too. The FFI request under it takes destination identities; this
sends each key to the named participant alone. It is the one place dialtone reaches
under the rtc wrapper, kept behind `SendKeys` so everything else (and the simulator)
only sees "send these keys".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

SendKeys = Callable[[str], Awaitable[None]]

#: RFC 4733 event codes for the keys a menu takes.
DTMF_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
#: Between two keys, as a person pressing them would leave.
KEY_GAP_S = 0.3


async def publish_dtmf_to(local_participant: Any, digit: str, identities: list[str]) -> None:
    """Publish one key to `identities` only (see the module docstring)."""
    from livekit.rtc._ffi_client import FfiClient
    from livekit.rtc._proto import ffi_pb2 as proto_ffi
    from livekit.rtc.participant import PublishDTMFError

    req = proto_ffi.FfiRequest()
    req.publish_sip_dtmf.local_participant_handle = local_participant._ffi_handle.handle
    req.publish_sip_dtmf.code = DTMF_CODES[digit]
    req.publish_sip_dtmf.digit = digit
    req.publish_sip_dtmf.destination_identities.extend(identities)
    queue = FfiClient.instance.queue.subscribe()
    try:
        resp = FfiClient.instance.request(req)
        event = await queue.wait_for(
            lambda e: e.publish_sip_dtmf.async_id == resp.publish_sip_dtmf.async_id
        )
    finally:
        FfiClient.instance.queue.unsubscribe(queue)
    if event.publish_sip_dtmf.error:
        raise PublishDTMFError(event.publish_sip_dtmf.error)


def keys_to(local_participant: Any, identity: str) -> SendKeys:
    """A `SendKeys` for the room's participant `identity` (the callee's SIP leg)."""

    async def send(keys: str) -> None:
        for index, digit in enumerate(keys):
            if digit not in DTMF_CODES:
                continue
            if index:
                await asyncio.sleep(KEY_GAP_S)
            await publish_dtmf_to(local_participant, digit, [identity])

    return send
