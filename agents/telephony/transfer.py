"""Warm and cold transfers to a human, against a narrow set of LiveKit calls.

Mechanism (and where it departs from livekit-agents): livekit-agents' beta
`WarmTransferTask` consults the human in a separate room and then moves the caller with
`MoveParticipant`, which exists on LiveKit Cloud only; on failure it reports an error
string. dialtone uses the *bridge* mechanism everywhere, because it works on self-hosted
LiveKit too: the human is dialed straight into the caller's room (`CreateSIPParticipant`
with `wait_until_answered` and a ringing timeout) while the caller hears hold audio, the
agent gives a short spoken brief once the human answers, and the agent leaves, leaving
caller and human talking. Limit, stated honestly: in a bridge the caller hears the brief
too (LiveKit has no per-listener audio routing for an agent track that we can rely on
across deployments), so the brief is written to be fine for the caller to hear.

Cold transfer is `TransferSIPParticipant` (SIP REFER). Carriers with transfers disabled
answer the REFER with 403/603 (livekit/sip issue 234); then dialtone logs the carrier
setting to check and falls back to the bridge, so the caller still reaches the human.

Every attempt ends in a `TransferResult` that is logged and counted (`outcomes.py`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from livekit import api
from livekit.api.twirp_client import SipCallError, TwirpError
from livekit.protocol.room import RoomParticipantIdentity
from livekit.protocol.sip import (
    CreateSIPParticipantRequest,
    ListSIPOutboundTrunkRequest,
    SIPTransferStatus,
    TransferSIPParticipantRequest,
)

from ..personas import TransferTarget
from .hours import parse_hours
from .outcomes import (
    TransferOutcome,
    TransferResult,
    outcome_for_error,
    outcome_for_sip_status,
    record_transfer,
)

logger = logging.getLogger("dialtone.transfer")

RINGING_TIMEOUT_S = 25
#: SIP statuses to a REFER that mean "this trunk does not allow transfers".
REFER_REFUSED = {403, 405, 501, 603}
ROLE_ATTRIBUTE = "dialtone.role"


class LiveKitCalls(Protocol):
    """The LiveKit server calls a transfer needs (LIVEKIT_API.md §3, §6)."""

    async def dial(self, request: CreateSIPParticipantRequest, ring_seconds: float) -> None: ...

    async def refer(self, request: TransferSIPParticipantRequest, ring_seconds: float) -> None: ...

    async def outbound_trunk_id(self, name_or_id: str) -> str: ...

    async def participant_present(self, room: str, identity: str) -> bool: ...

    async def remove_participant(self, room: str, identity: str) -> None: ...


class ReferNotCompleted(Exception):
    """TransferSIPParticipant answered without error but the transfer did not complete."""

    def __init__(self, status: int, sip_status: int) -> None:
        super().__init__(f"transfer status {SIPTransferStatus.Name(status)}")  # type: ignore[arg-type]
        self.sip_status = sip_status or None


class LiveKitApiCalls:
    """`LiveKitCalls` with the real `livekit.api.LiveKitAPI` client."""

    def __init__(self, lk: api.LiveKitAPI) -> None:
        self._lk = lk

    async def dial(self, request: CreateSIPParticipantRequest, ring_seconds: float) -> None:
        # The client's own timeout is off for ordinary calls (double README: "Client
        # timeout"), so bound the whole call here as well.
        await asyncio.wait_for(
            self._lk.sip.create_sip_participant(request, timeout=ring_seconds), ring_seconds + 5
        )

    async def refer(self, request: TransferSIPParticipantRequest, ring_seconds: float) -> None:
        response = await asyncio.wait_for(
            self._lk.sip.transfer_sip_participant(request, timeout=ring_seconds), ring_seconds + 5
        )
        if response.status != SIPTransferStatus.STS_TRANSFER_SUCCESSFUL:
            raise ReferNotCompleted(response.status, int(response.sip_status.code))

    async def outbound_trunk_id(self, name_or_id: str) -> str:
        if name_or_id.startswith("ST_"):
            return name_or_id
        listed = await asyncio.wait_for(
            self._lk.sip.list_outbound_trunk(ListSIPOutboundTrunkRequest()), 10
        )
        for trunk in listed.items:
            if trunk.name == name_or_id:
                return trunk.sip_trunk_id
        raise LookupError(f"no outbound trunk named {name_or_id!r}")

    async def participant_present(self, room: str, identity: str) -> bool:
        try:
            await asyncio.wait_for(
                self._lk.room.get_participant(
                    RoomParticipantIdentity(room=room, identity=identity)
                ),
                10,
            )
        except TwirpError as exc:
            if exc.code == "not_found":
                return False
            raise
        return True

    async def remove_participant(self, room: str, identity: str) -> None:
        try:
            await asyncio.wait_for(
                self._lk.room.remove_participant(
                    RoomParticipantIdentity(room=room, identity=identity)
                ),
                10,
            )
        except TwirpError as exc:
            if exc.code != "not_found":
                raise


class CallSide(Protocol):
    """What the caller's side of the call does during a transfer (worker or simulator)."""

    async def start_hold(self) -> None: ...

    async def stop_hold(self) -> None: ...

    async def say(self, text: str) -> None: ...

    async def leave(self) -> None: ...


#: Given the human's identity, return what they said first (or None when not known);
#: used to spot a voicemail greeting. Injected: see `looks_like_voicemail`.
FirstWords = Callable[[str], Awaitable[str | None]]

_VOICEMAIL = re.compile(
    r"leave (a|your) (message|name)|after the (tone|beep)|voice ?mail|not available to take",
    re.IGNORECASE,
)


def looks_like_voicemail(words: str | None) -> bool:
    """Whether the human leg's first words are a voicemail greeting."""
    return bool(words and _VOICEMAIL.search(words))


def destination(target: TransferTarget) -> str:
    """The REFER target URI: the SIP URI, or `tel:` + the E.164 number."""
    return target.sip_uri or f"tel:{target.phone}"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "human"


@dataclass
class TransferDesk:
    """Runs transfers for one call: the caller's room and SIP identity, and the API."""

    calls: LiveKitCalls
    room: str
    caller_identity: str
    call_id: str | None = None
    first_words: FirstWords | None = None
    ringing_timeout_s: int = RINGING_TIMEOUT_S
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def is_open(self, target: TransferTarget) -> bool:
        return target.hours is None or parse_hours(target.hours).is_open(self.clock())

    def callback_phrase(self, target: TransferTarget) -> str:
        if target.hours is None:
            return "as soon as someone is available"
        return parse_hours(target.hours).callback_phrase(self.clock())

    async def warm(self, target: TransferTarget, side: CallSide, brief: str) -> TransferResult:
        """Bridge the human into the caller's room; the caller hears hold until it ends."""
        if not self.is_open(target):
            return self._finish(
                TransferResult(TransferOutcome.AFTER_HOURS, target.name, "warm", mechanism="none")
            )
        return self._finish(await self._bridge(target, side, brief, kind="warm"))

    async def cold(self, target: TransferTarget, side: CallSide, brief: str) -> TransferResult:
        """REFER the caller to the target; if the trunk refuses REFER, bridge instead."""
        if not self.is_open(target):
            return self._finish(
                TransferResult(TransferOutcome.AFTER_HOURS, target.name, "cold", mechanism="none")
            )
        request = TransferSIPParticipantRequest(
            room_name=self.room,
            participant_identity=self.caller_identity,
            transfer_to=destination(target),
            play_dialtone=False,
        )
        request.ringing_timeout.seconds = self.ringing_timeout_s
        try:
            await self.calls.refer(request, ring_seconds=float(self.ringing_timeout_s))
        except (SipCallError, ReferNotCompleted, TwirpError, TimeoutError) as exc:
            code = exc.sip_status if isinstance(exc, ReferNotCompleted) else None
            if isinstance(exc, SipCallError):
                code = exc.sip_status_code
            if code in REFER_REFUSED:
                refused = TransferResult(
                    TransferOutcome.REFER_REFUSED,
                    target.name,
                    "cold",
                    sip_status_code=code,
                    detail="carrier refused SIP REFER: enable call transfer (REFER) on the "
                    "outbound/inbound trunk at the carrier; bridging instead",
                    mechanism="refer",
                )
                record_transfer(refused, call_id=self.call_id)
                result = await self._bridge(target, side, brief, kind="cold")
                return self._finish(
                    TransferResult(
                        result.outcome,
                        result.target,
                        "cold",
                        result.sip_status_code,
                        result.sip_status,
                        result.detail,
                        mechanism="refer-refused→bridge",
                    )
                )
            if isinstance(exc, ReferNotCompleted):
                # No error, but not "successful": the caller may already be gone (the
                # REFER went through after all) or still be with us. Ask the room.
                if not await self._present(self.caller_identity):
                    await side.leave()
                    return self._finish(
                        TransferResult(
                            TransferOutcome.COMPLETED,
                            target.name,
                            "cold",
                            detail=str(exc),
                            mechanism="refer",
                        )
                    )
                outcome = outcome_for_sip_status(code)
                text = str(exc)
            else:
                outcome, code, text = outcome_for_error(exc)
            return self._finish(
                TransferResult(
                    outcome,
                    target.name,
                    "cold",
                    code,
                    text if code is not None else "",
                    text,
                    mechanism="refer",
                )
            )
        # After a successful REFER the caller's leg is gone from the room: the agent leaves.
        await side.leave()
        return self._finish(
            TransferResult(TransferOutcome.COMPLETED, target.name, "cold", mechanism="refer")
        )

    async def _bridge(
        self, target: TransferTarget, side: CallSide, brief: str, *, kind: str
    ) -> TransferResult:
        identity = f"transfer-{slug(target.name)}"
        await side.start_hold()
        try:
            result = await self._dial_and_check(target, identity, kind)
        finally:
            await side.stop_hold()
        if result.outcome is not TransferOutcome.COMPLETED:
            return result
        await side.say(brief)
        await side.leave()
        return result

    async def _dial_and_check(
        self, target: TransferTarget, identity: str, kind: str
    ) -> TransferResult:
        def failed(
            outcome: TransferOutcome, code: int | None = None, sip_text: str = "", detail: str = ""
        ) -> TransferResult:
            return TransferResult(
                outcome, target.name, kind, code, sip_text, detail or sip_text, mechanism="bridge"
            )

        if target.outbound_trunk is None:
            return failed(TransferOutcome.TRUNK_FAILURE, detail="target has no outbound_trunk")
        try:
            trunk_id = await self.calls.outbound_trunk_id(target.outbound_trunk)
        except (LookupError, TwirpError, TimeoutError) as exc:
            return failed(TransferOutcome.TRUNK_FAILURE, detail=str(exc))
        request = CreateSIPParticipantRequest(
            sip_trunk_id=trunk_id,
            sip_call_to=target.phone or target.sip_uri or "",
            room_name=self.room,
            participant_identity=identity,
            participant_name=target.name,
            participant_attributes={ROLE_ATTRIBUTE: "transfer-human"},
            wait_until_answered=True,
            play_dialtone=False,
            # Digits for the human's phone menu go on the human's leg only, sent by the
            # SIP service after the answer: never played into the caller's audio.
            dtmf=target.dtmf or "",
        )
        request.ringing_timeout.seconds = self.ringing_timeout_s
        try:
            await self.calls.dial(request, ring_seconds=float(self.ringing_timeout_s))
        except (TwirpError, TimeoutError) as exc:
            outcome, code, text = outcome_for_error(exc)
            return failed(outcome, code, text)
        if self.first_words is not None and looks_like_voicemail(await self.first_words(identity)):
            await self.calls.remove_participant(self.room, identity)
            return failed(TransferOutcome.VOICEMAIL, detail="voicemail greeting on the human leg")
        try:
            present = await self.calls.participant_present(self.room, identity)
        except (TwirpError, TimeoutError) as exc:
            return failed(TransferOutcome.TRUNK_FAILURE, detail=str(exc))
        if not present:
            return failed(
                TransferOutcome.DROPPED_AFTER_CONNECT, detail="human left after answering"
            )
        return TransferResult(TransferOutcome.COMPLETED, target.name, kind, mechanism="bridge")

    async def _present(self, identity: str) -> bool:
        try:
            return await self.calls.participant_present(self.room, identity)
        except (TwirpError, TimeoutError):
            return True  # unknown: assume the caller is still with us and keep serving them

    def _finish(self, result: TransferResult) -> TransferResult:
        record_transfer(result, call_id=self.call_id)
        return result
