"""A simulated phone network behind the transfer desk, for `dialtone simulate`.

This is not LiveKit and not a test double of its API: it plays the *human's phone* for
a scenario (rings for `answer_after_s`, then answers, is busy, declines, or a voicemail
picks up) and the carrier's answer to a REFER, so a simulated call exercises the real
`TransferDesk` and the real agent, offline, with no server. The failures are raised as
the same `SipCallError` the real client raises, with the same metadata keys
(LiveKit's API documentation), so the desk's SIP-status mapping is what runs. The tests also run
the desk against the LiveKit double (tests/telephony), which models the
server's requests; this class only models the far end.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from livekit.api.twirp_client import SipCallError, TwirpError
from livekit.protocol.sip import CreateSIPParticipantRequest, TransferSIPParticipantRequest

from .scenario import Human

#: The Twirp code livekit/sip gives each SIP status family (LiveKit's API documentation).
_TWIRP_CODE = {486: "resource_exhausted", 600: "resource_exhausted", 480: "resource_exhausted"}


def _sip_error(code: int, reason: str) -> SipCallError:
    twirp = _TWIRP_CODE.get(code, "permission_denied" if code in (401, 403, 603) else "unknown")
    return SipCallError(
        twirp,
        reason or f"SIP {code}",
        status=400 if code < 500 else 503,
        metadata={"sip_status_code": str(code), "sip_status": reason},
    )


@dataclass
class SimulatedFarEnd:
    """`LiveKitCalls` for a simulated call: the scenario's human and carrier."""

    human: Human
    caller_identity: str = "caller"
    present: set[str] = field(default_factory=set)
    dials: list[CreateSIPParticipantRequest] = field(default_factory=list)
    refers: list[TransferSIPParticipantRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.present.add(self.caller_identity)

    async def dial(self, request: CreateSIPParticipantRequest, ring_seconds: float) -> None:
        self.dials.append(request)
        human = self.human
        if human.answer is None:
            await asyncio.sleep(ring_seconds)
            raise TwirpError("canceled", "sip request timed out", status=408)
        await asyncio.sleep(min(human.answer_after_s, ring_seconds))
        if human.answer_after_s > ring_seconds:
            raise TwirpError("canceled", "sip request timed out", status=408)
        if human.sip_status_code is not None:
            raise _sip_error(human.sip_status_code, human.sip_status)
        self.present.add(request.participant_identity)

    async def refer(self, request: TransferSIPParticipantRequest, ring_seconds: float) -> None:
        self.refers.append(request)
        if self.human.refer_sip_status_code is not None:
            raise _sip_error(self.human.refer_sip_status_code, "REFER refused")
        self.present.discard(request.participant_identity)

    async def outbound_trunk_id(self, name_or_id: str) -> str:
        return name_or_id if name_or_id.startswith("ST_") else "ST_simulated"

    async def participant_present(self, room: str, identity: str) -> bool:
        return identity in self.present

    async def remove_participant(self, room: str, identity: str) -> None:
        self.present.discard(identity)

    async def first_words(self, identity: str) -> str | None:
        """What the human's leg says on answering: a voicemail greeting, or hello."""
        if self.human.answer == "voicemail":
            return "Hi, you've reached the front desk. Please leave a message after the tone."
        return "Hello, front desk."
