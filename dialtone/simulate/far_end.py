"""A simulated phone network behind the transfer desk, for `dialtone simulate`.

This is not LiveKit and not a test double of its API: it plays the *human's phone* for
a scenario (rings for `answer_after_s`, then answers, is busy, declines, or a voicemail
picks up) and the carrier's answer to a REFER, so a simulated call exercises the real
`TransferDesk` and the real agent, offline, with no server. The failures are raised as
the same `SipCallError` the real client raises, with the same metadata keys
(LiveKit's API documentation), so the desk's SIP-status mapping is what runs. The tests also run
the desk against the LiveKit double (tests/telephony), which models the
server's requests; this class only models the far end.

The human's phone also *speaks*: on answering it says hello (or plays a voicemail
greeting), and after the brief it answers with the scenario's `reply` (and `key`). Its
voice is synthesized and published into whatever room the desk dialed it into
(`rooms.py`), so the report measures who heard it. The words themselves reach the desk
as text, standing in for the STT the worker runs on the human's leg.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from livekit.api.twirp_client import SipCallError, TwirpError
from livekit.protocol.sip import CreateSIPParticipantRequest, TransferSIPParticipantRequest

from ..offline.espeak import synthesize
from .phone_audio import PHONE_RATE, to_phone_line, trim_silence
from .recording import CallClock
from .rooms import SimulatedRooms
from .scenario import Human

HELLO = "Hello, front desk."
VOICEMAIL_GREETING = "Hi, you've reached the front desk. Please leave a message after the tone."
#: The human's phone voice: a different espeak voice from the caller's.
HUMAN_VOICE = "en-us+m3"
SYNTH_RATE = 16000

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
    call_room: str = "sim"
    caller_identity: str = "caller"
    rooms: SimulatedRooms = field(default_factory=SimulatedRooms)
    clock: CallClock = field(default_factory=CallClock)
    dials: list[CreateSIPParticipantRequest] = field(default_factory=list)
    refers: list[TransferSIPParticipantRequest] = field(default_factory=list)
    _greeting: dict[str, asyncio.Task[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rooms.join(self.call_room, self.caller_identity, sip=True)

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
        self.answered(request.participant_identity, request.room_name)

    def answered(self, identity: str, room: str) -> None:
        """The human's leg is up in `room`: it joins and starts its greeting."""
        if self.rooms.room_of(identity) is not None:
            return
        self.rooms.join(room, identity, sip=True)
        greeting = VOICEMAIL_GREETING if self.human.answer == "voicemail" else HELLO
        self._greeting[identity] = asyncio.ensure_future(self.speak(identity, greeting))

    async def refer(self, request: TransferSIPParticipantRequest, ring_seconds: float) -> None:
        self.refers.append(request)
        if self.human.refer_sip_status_code is not None:
            raise _sip_error(self.human.refer_sip_status_code, "REFER refused")
        self.rooms.leave(request.room_name, request.participant_identity)

    async def outbound_trunk_id(self, name_or_id: str) -> str:
        return name_or_id if name_or_id.startswith("ST_") else "ST_simulated"

    async def participant_present(self, room: str, identity: str) -> bool:
        return self.rooms.present(room, identity)

    async def remove_participant(self, room: str, identity: str) -> None:
        self.rooms.leave(room, identity)
        task = self._greeting.pop(identity, None)
        if task is not None:
            task.cancel()

    async def speak(self, identity: str, text: str) -> str:
        """The human's leg says `text` into the room it is in, in real time."""
        audio = to_phone_line(
            trim_silence(await synthesize(text, voice=HUMAN_VOICE, sample_rate=SYNTH_RATE)),
            SYNTH_RATE,
        )
        room = self.rooms.room_of(identity)
        if room is not None:
            self.rooms.play(room, identity, "voice", audio, PHONE_RATE, at=self.clock.now())
        await asyncio.sleep(audio.size / PHONE_RATE)
        return text

    async def first_words(self, identity: str) -> str | None:
        """What the human's leg says on answering: a voicemail greeting, or hello."""
        task = self._greeting.get(identity)
        return None if task is None else await asyncio.shield(task)

    async def answer_brief(self, identity: str) -> tuple[str | None, str | None]:
        """The human's answer to the brief: (words said, key pressed), each maybe None."""
        words = None
        if self.human.reply:
            words = await self.speak(identity, self.human.reply)
        if self.human.key is not None:
            room = self.rooms.room_of(identity)
            if room is not None:
                self.rooms.press(room, identity, self.human.key)
        return words, self.human.key
