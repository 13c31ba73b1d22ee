"""Warm and cold transfers to a human, against a narrow set of LiveKit calls.

Where this follows livekit-agents' beta `WarmTransferTask` (workflows/warm_transfer.py)
and where it departs, on purpose:

- Same: the human is dialed with `CreateSIPParticipant` with `wait_until_answered`, a
  ringing timeout and the `dtmf` field for the human's phone menu; the caller hears hold
  audio meanwhile and the caller's audio input is paused; the human gets a summary.
- Departs, mechanism: the task consults the human in a second room and then moves them
  with `MoveParticipant`, which only LiveKit Cloud offers (review of livekit/agents PR
  4126). dialtone consults in a second room too (`consult.py`), but on acceptance the
  agent *relays* audio between the two rooms instead of moving anyone, which any LiveKit
  server can do. The caller hears hold audio, never the human, until the human accepts;
  the human hears the brief, never the caller, until then.
- Departs, results: the task completes with `ToolError("could not dial human agent")`
  for every failure (livekit/agents issue 7200). Here every attempt ends in a typed
  `TransferResult` with the SIP status (`outcomes.py`), recorded once.
- Departs, voicemail: the task relies on a second LLM session noticing a voicemail
  greeting; the desk takes an injected `first_words` callable and matches the greeting.
- Departs, hold audio: the task plays hold music through `BackgroundAudioPlayer` as a
  second track; dialtone plays it through the agent's own audio output (`CallSide`), the
  channel the caller already hears, so the simulator measures it like speech.

Cold transfer is `TransferSIPParticipant` (SIP REFER). Carriers with transfers disabled
answer the REFER with 403/603 (livekit/sip issue 234); then dialtone falls back to the
bridge (when the target has an outbound trunk) and the result says which carrier setting
to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
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

from ..hours import parse_hours
from ..personas import TransferTarget
from .consult import (
    REPLY_TIMEOUT_S,
    ConsultLine,
    ConsultLines,
    ConsultReply,
    consult_room_name,
)
from .outcomes import (
    Mechanism,
    TransferKind,
    TransferOutcome,
    TransferResult,
    outcome_for_error,
    outcome_for_sip_status,
    record_transfer,
)

logger = logging.getLogger("dialtone.transfer")

RINGING_TIMEOUT_S = 25
#: SIP statuses to a REFER that mean "this trunk does not allow transfers".
REFER_REFUSED = frozenset({403, 405, 501, 603})
ROLE_ATTRIBUTE = "dialtone.role"
HUMAN_ROLE = "transfer-human"
API_TIMEOUT_S = 10.0


class LiveKitCalls(Protocol):
    """The LiveKit server calls a transfer needs (LiveKit's API documentation)."""

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
    """`LiveKitCalls` with the real `livekit.api.LiveKitAPI` client.

    Every call is bounded here: the client sends ordinary calls with no timeout at all
    (tests/livekit_double/README.md, "Client timeout"), and a hung request must not keep
    a caller on hold forever.
    """

    def __init__(self, lk: api.LiveKitAPI) -> None:
        self._lk = lk

    async def dial(self, request: CreateSIPParticipantRequest, ring_seconds: float) -> None:
        await asyncio.wait_for(
            self._lk.sip.create_sip_participant(request, timeout=ring_seconds + 2),
            ring_seconds + 5,
        )

    async def refer(self, request: TransferSIPParticipantRequest, ring_seconds: float) -> None:
        response = await asyncio.wait_for(
            self._lk.sip.transfer_sip_participant(request, timeout=ring_seconds + 2),
            ring_seconds + 5,
        )
        if response.status != SIPTransferStatus.STS_TRANSFER_SUCCESSFUL:
            raise ReferNotCompleted(response.status, int(response.sip_status.code))

    async def outbound_trunk_id(self, name_or_id: str) -> str:
        if name_or_id.startswith("ST_"):
            return name_or_id
        listed = await asyncio.wait_for(
            self._lk.sip.list_outbound_trunk(ListSIPOutboundTrunkRequest()), API_TIMEOUT_S
        )
        for trunk in listed.items:
            if trunk.name == name_or_id:
                return trunk.sip_trunk_id
        raise LookupError(f"no outbound trunk named {name_or_id!r} (persona outbound_trunk)")

    async def participant_present(self, room: str, identity: str) -> bool:
        try:
            await asyncio.wait_for(
                self._lk.room.get_participant(
                    RoomParticipantIdentity(room=room, identity=identity)
                ),
                API_TIMEOUT_S,
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
                API_TIMEOUT_S,
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


def dial_string(target: TransferTarget) -> str | None:
    """What `CreateSIPParticipant.sip_call_to` gets for a bridge, or None if nothing.

    The server refuses a full SIP URI there ("SipCallTo should be a phone number or SIP
    user"), so a `sip:user@pbx` target is dialed as `user` through the target's outbound
    trunk (whose address must be that PBX), and `tel:+1555...` as the number.
    """
    if target.phone:
        return target.phone
    uri = (target.sip_uri or "").split(";", 1)[0]
    scheme, _, rest = uri.partition(":")
    if scheme == "tel":
        return rest or None
    user, at, _host = rest.partition("@")
    return user if at and user else None


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "human"


def human_identity(target: TransferTarget) -> str:
    """The participant identity the human's leg gets in the caller's room."""
    return f"transfer-{slug(target.name)}"


def menu_digits(target: TransferTarget, extra: str = "") -> str:
    """DTMF for the human's leg: the target's menu digits, then `extra` (an extension).

    A one-second pause (`ww`) before the extra digits lets the far end's menu start
    listening. Only digits reach here (the tool and persona validate them).
    """
    digits = target.dtmf or ""
    if extra:
        digits = f"{digits}ww{extra}"
    return digits


@dataclass
class TransferDesk:
    """Runs transfers for one call: the caller's room and SIP identity, and the API.

    One desk per call; `warm` and `cold` each end in exactly one recorded result.
    """

    calls: LiveKitCalls
    room: str
    caller_identity: str
    call_id: str | None = None
    first_words: FirstWords | None = None
    #: Consult lines: with them a warm transfer is private (consult, then connect);
    #: without, the human is bridged into the caller's room and the brief is announced
    #: to both (what every worker and simulated call did before consult lines).
    consult: ConsultLines | None = None
    reply_timeout_s: float = REPLY_TIMEOUT_S
    ringing_timeout_s: int = RINGING_TIMEOUT_S
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def is_open(self, target: TransferTarget) -> bool:
        return target.hours is None or parse_hours(target.hours).is_open(self.clock())

    def callback_phrase(self, target: TransferTarget) -> str:
        if target.hours is None:
            return "as soon as someone is available"
        return parse_hours(target.hours).callback_phrase(self.clock())

    def ring_seconds(self, target: TransferTarget) -> int:
        return target.ring_seconds or self.ringing_timeout_s

    async def warm(
        self, target: TransferTarget, side: CallSide, brief: str, *, digits: str = ""
    ) -> TransferResult:
        """Bridge the human into the caller's room; the caller hears hold until it ends.

        `digits` are extra DTMF for the human's phone menu (an extension the caller asked
        for), sent after the target's own `dtmf`, on the human's leg only.
        """
        if not self.is_open(target):
            return self._finish(
                TransferResult(TransferOutcome.AFTER_HOURS, target.name, "warm", "none")
            )
        return self._finish(
            await self._guarded(target, "warm", self._bridge(target, side, brief, "warm", digits))
        )

    async def cold(
        self, target: TransferTarget, side: CallSide, brief: str, *, digits: str = ""
    ) -> TransferResult:
        """REFER the caller to the target; if the trunk refuses REFER, bridge instead."""
        if not self.is_open(target):
            return self._finish(
                TransferResult(TransferOutcome.AFTER_HOURS, target.name, "cold", "none")
            )
        return self._finish(
            await self._guarded(target, "cold", self._refer(target, side, brief, digits))
        )

    async def _guarded(
        self, target: TransferTarget, kind: TransferKind, attempt: Awaitable[TransferResult]
    ) -> TransferResult:
        """Run an attempt; an unforeseen error (a dropped HTTP connection to LiveKit, say)
        still ends in a recorded trunk failure, with the caller kept, not in a crash.

        Cancellation (the caller hung up and the session closed under the tool) is
        recorded as `caller_left`, the human's leg is released if it was dialed, and the
        cancellation goes on.
        """
        try:
            return await attempt
        except asyncio.CancelledError:
            await asyncio.shield(self._release(human_identity(target)))
            if self.consult is not None:
                await asyncio.shield(self._release(human_identity(target), self._consult_room))
            self._finish(
                TransferResult(
                    TransferOutcome.CALLER_LEFT,
                    target.name,
                    kind,
                    "none",
                    detail="transfer cancelled: the call's session closed",
                )
            )
            raise
        except Exception as exc:
            logger.exception("transfer failed unexpectedly", extra={"call_id": self.call_id})
            return TransferResult(
                TransferOutcome.TRUNK_FAILURE,
                target.name,
                kind,
                "none",
                detail=f"{type(exc).__name__}: {exc}",
            )

    async def _refer(
        self, target: TransferTarget, side: CallSide, brief: str, digits: str
    ) -> TransferResult:
        request = TransferSIPParticipantRequest(
            room_name=self.room,
            participant_identity=self.caller_identity,
            transfer_to=destination(target),
            play_dialtone=False,
        )
        ring = self.ring_seconds(target)
        request.ringing_timeout.seconds = ring
        try:
            await self.calls.refer(request, ring_seconds=float(ring))
        except ReferNotCompleted as exc:
            # No error, but not "successful": the REFER may have gone through after all
            # (the caller is gone) or not (the caller is still with us). Ask the room.
            if not await self._present(self.caller_identity):
                await side.leave()
                return TransferResult(
                    TransferOutcome.COMPLETED, target.name, "cold", "refer", detail=str(exc)
                )
            code = exc.sip_status
            if code in REFER_REFUSED:
                return await self._after_refused(target, side, brief, digits, code)
            return TransferResult(
                outcome_for_sip_status(code), target.name, "cold", "refer", code, "", str(exc)
            )
        except (TwirpError, TimeoutError) as exc:
            code = exc.sip_status_code if isinstance(exc, SipCallError) else None
            if code in REFER_REFUSED:
                return await self._after_refused(target, side, brief, digits, code)
            outcome, code, text = outcome_for_error(exc)
            return TransferResult(outcome, target.name, "cold", "refer", code, text, text)
        # After a successful REFER the caller's leg is gone from the room: the agent leaves.
        await side.leave()
        return TransferResult(TransferOutcome.COMPLETED, target.name, "cold", "refer")

    async def _after_refused(
        self, target: TransferTarget, side: CallSide, brief: str, digits: str, code: int
    ) -> TransferResult:
        """The carrier refused REFER: bridge the human in instead, if we can dial them."""
        if target.outbound_trunk is None or dial_string(target) is None:
            return TransferResult(
                TransferOutcome.REFER_REFUSED,
                target.name,
                "cold",
                "refer",
                code,
                detail="carrier refused SIP REFER: enable call transfer (REFER) at the carrier, "
                "or give this target an outbound_trunk so dialtone can bridge instead",
            )
        result = await self._bridge(target, side, brief, "cold", digits)
        return replace(result, refer_refused_code=code)

    @property
    def _consult_room(self) -> str:
        return consult_room_name(self.room)

    async def _bridge(
        self, target: TransferTarget, side: CallSide, brief: str, kind: TransferKind, digits: str
    ) -> TransferResult:
        if self.consult is not None:
            return await self._consult(
                self.consult(self._consult_room), target, side, brief, kind, digits
            )
        identity = human_identity(target)
        await side.start_hold()
        try:
            result = await self._dial_and_check(target, identity, kind, digits)
        finally:
            await side.stop_hold()
        if result.outcome is not TransferOutcome.COMPLETED:
            return result
        await side.say(brief)
        await side.leave()
        return result

    async def _consult(
        self,
        line: ConsultLine,
        target: TransferTarget,
        side: CallSide,
        brief: str,
        kind: TransferKind,
        digits: str,
    ) -> TransferResult:
        """Dial the human into the consult room, brief them, connect only on a yes.

        The caller is on hold from the first step to the last; whatever happens, the
        consult line is closed and the human's leg released unless they were connected.
        """
        identity = human_identity(target)
        await side.start_hold()
        connected = False
        try:
            await line.open()
            result = await self._dial_and_check(
                target, identity, kind, digits, room=line.room, first_words=line.first_words
            )
            if result.outcome is not TransferOutcome.COMPLETED:
                return result
            await line.brief(identity, brief)
            reply = await line.reply(identity, self.reply_timeout_s)
            if reply is not ConsultReply.ACCEPT:
                await self._release(identity, line.room)
                said = "declined the call" if reply is ConsultReply.DECLINE else "gave no answer"
                return replace(result, outcome=TransferOutcome.DECLINED, detail=f"the human {said}")
            if not await self._present(self.caller_identity):
                await self._release(identity, line.room)
                return replace(
                    result, outcome=TransferOutcome.CALLER_LEFT, detail="caller hung up on hold"
                )
            await line.connect(identity)
            connected = True
        except Exception:
            # The consult line failed (TTS, the room, the relay): the human must not be
            # left on a dead line; `_guarded` records the failure and keeps the caller.
            await self._release(identity, line.room)
            raise
        finally:
            await side.stop_hold()
            if not connected:
                await line.close()
        await side.leave()
        return result

    async def _dial_and_check(
        self,
        target: TransferTarget,
        identity: str,
        kind: TransferKind,
        digits: str,
        *,
        room: str | None = None,
        first_words: FirstWords | None = None,
    ) -> TransferResult:
        room = room or self.room
        first_words = first_words or self.first_words
        mechanism: Mechanism = "bridge" if room == self.room else "consult"

        def failed(
            outcome: TransferOutcome, code: int | None = None, sip_text: str = "", detail: str = ""
        ) -> TransferResult:
            return TransferResult(
                outcome, target.name, kind, mechanism, code, sip_text, detail or sip_text
            )

        call_to = dial_string(target)
        if target.outbound_trunk is None or call_to is None:
            return failed(
                TransferOutcome.TRUNK_FAILURE,
                detail="target needs an outbound_trunk and a phone number or sip:user@host",
            )
        try:
            trunk_id = await self.calls.outbound_trunk_id(target.outbound_trunk)
        except (LookupError, TwirpError, TimeoutError) as exc:
            return failed(TransferOutcome.TRUNK_FAILURE, detail=str(exc))
        ring = self.ring_seconds(target)
        request = CreateSIPParticipantRequest(
            sip_trunk_id=trunk_id,
            sip_call_to=call_to,
            room_name=room,
            participant_identity=identity,
            participant_name=target.name,
            participant_attributes={ROLE_ATTRIBUTE: HUMAN_ROLE},
            wait_until_answered=True,
            play_dialtone=False,
            # Digits for the human's phone menu go on the human's leg only, sent by the
            # SIP service after the answer: never published into the caller's room,
            # where every SIP participant would hear them (livekit/agents issue 6357).
            dtmf=menu_digits(target, digits),
        )
        request.ringing_timeout.seconds = ring
        try:
            await self.calls.dial(request, ring_seconds=float(ring))
        except (TwirpError, TimeoutError) as exc:
            outcome, code, text = outcome_for_error(exc)
            return failed(outcome, code, text)
        if first_words is not None and looks_like_voicemail(await first_words(identity)):
            await self._release(identity, room)
            return failed(TransferOutcome.VOICEMAIL, detail="voicemail greeting on the human leg")
        try:
            human_there = await self.calls.participant_present(room, identity)
            caller_there = await self.calls.participant_present(self.room, self.caller_identity)
        except (TwirpError, TimeoutError) as exc:
            await self._release(identity, room)
            return failed(TransferOutcome.TRUNK_FAILURE, detail=f"room check failed: {exc}")
        if not human_there:
            return failed(
                TransferOutcome.DROPPED_AFTER_CONNECT, detail="human left after answering"
            )
        if not caller_there:
            await self._release(identity, room)
            return failed(TransferOutcome.CALLER_LEFT, detail="caller hung up while on hold")
        return TransferResult(TransferOutcome.COMPLETED, target.name, kind, mechanism)

    async def _release(self, identity: str, room: str | None = None) -> None:
        """Hang up the human's leg; a failure here must not change the caller's path."""
        with contextlib.suppress(TwirpError, TimeoutError):
            await self.calls.remove_participant(room or self.room, identity)

    async def _present(self, identity: str) -> bool:
        try:
            return await self.calls.participant_present(self.room, identity)
        except (TwirpError, TimeoutError):
            return True  # unknown: assume the caller is still with us and keep serving them

    def _finish(self, result: TransferResult) -> TransferResult:
        record_transfer(result, call_id=self.call_id)
        return result
