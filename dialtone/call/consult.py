"""The worker's consult line: a second room connection from the job, and the relay.

For one warm transfer the job joins the consult room as `dialtone-consult` (a token
minted with the worker's own API key: nothing beyond a self-hosted LiveKit server is
needed), publishes one audio track there for the brief (subscribable by the human only)
and listens to the human's leg with the call's STT. Keys the human presses arrive here
as `sip_dtmf_received` in the consult room; the SIP service plays a key only to the
other SIP legs of the room it was pressed in, and the caller is not in this one.

On acceptance the agent relays: the human's audio is republished in the call room as
`transfer-relay`, and the caller's audio in the consult room on the brief's track. The
relay runs until either side hangs up; then both rooms are deleted, which ends both
legs. The agent's own session has left by then (`JobLeaveControl` waits on the relay
before ending the job, because ending it would drop the relay). Keys are never relayed.

Not run against a real LiveKit server or SIP service yet: see docs/transfers.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from livekit import api, rtc
from livekit.agents import stt, tts, vad
from livekit.protocol.room import DeleteRoomRequest

from ..telephony.consult import (
    CONSULT_AGENT_IDENTITY,
    ConsultReply,
    ReplyJudge,
    reply_from_key,
    reply_from_words,
)
from ..telephony.listen import RATE, audio_track, human_first_words

logger = logging.getLogger("dialtone.transfer")

BRIEF_TRACK = "transfer-brief"
RELAY_TRACK = "transfer-relay"
#: How long the human may talk before their answer is read (they may stop sooner).
ANSWER_LISTEN_S = 6.0


def _decided(words: str) -> bool:
    return reply_from_words(words) is not ConsultReply.UNCLEAR


class Relays:
    """The relays a job runs after handing callers over; the job ends when they have."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    def add(self, task: asyncio.Task[None]) -> None:
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def wait(self) -> None:
        """Until every relay has ended (at once when there are none)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


class RoomConsultLine:
    """`ConsultLine` on a real LiveKit server (see the module docstring)."""

    def __init__(
        self,
        room: str,
        *,
        call_room: rtc.Room,
        caller_identity: str,
        lk: api.LiveKitAPI,
        url: str,
        api_key: str,
        api_secret: str,
        speech: tts.TTS,
        recognizer: stt.STT,
        detector: vad.VAD,
        judge: ReplyJudge,
        relays: Relays,
    ) -> None:
        self.room = room
        self._call_room = call_room
        self._caller = caller_identity
        self._lk = lk
        self._url = url
        self._key = api_key
        self._secret = api_secret
        self._tts = speech
        self._stt = recognizer
        self._vad = detector
        self._judge = judge
        self._relays = relays
        self._room = rtc.Room()
        self._source = rtc.AudioSource(speech.sample_rate, 1)
        self._keys: asyncio.Queue[str] = asyncio.Queue()
        self._human: str | None = None

    def _token(self) -> str:
        grants = api.VideoGrants(
            room_join=True, room=self.room, can_publish=True, can_subscribe=True
        )
        return (
            api.AccessToken(self._key, self._secret)
            .with_identity(CONSULT_AGENT_IDENTITY)
            .with_kind("agent")
            .with_grants(grants)
            .to_jwt()
        )

    def _on_key(self, event: rtc.SipDTMF) -> None:
        sender = event.participant
        if sender is not None and sender.identity == self._human:
            self._keys.put_nowait(event.digit)

    async def open(self) -> None:
        await self._room.connect(self._url, self._token())
        self._room.on("sip_dtmf_received", self._on_key)
        # Nobody may subscribe until the human is known (`first_words`), then only they
        # may: set before the track exists, so there is no moment it is open to all.
        self._room.local_participant.set_track_subscription_permissions(
            allow_all_participants=False, participant_permissions=[]
        )
        track = rtc.LocalAudioTrack.create_audio_track(BRIEF_TRACK, self._source)
        await self._room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )

    async def first_words(self, identity: str) -> str | None:
        self._human = identity
        self._room.local_participant.set_track_subscription_permissions(
            allow_all_participants=False,
            participant_permissions=[
                rtc.ParticipantTrackPermission(participant_identity=identity, allow_all=True)
            ],
        )
        return await human_first_words(self._room, identity, self._stt, self._vad)

    async def brief(self, identity: str, text: str) -> None:
        async with self._tts.synthesize(text) as stream:
            async for event in stream:
                await self._source.capture_frame(event.frame)
        await self._source.wait_for_playout()

    async def reply(self, identity: str, seconds: float) -> ConsultReply:
        key_task = asyncio.ensure_future(self._next_answer_key())
        words_task = asyncio.ensure_future(
            human_first_words(
                self._room,
                identity,
                self._stt,
                self._vad,
                seconds=min(seconds, ANSWER_LISTEN_S),
                enough=_decided,
            )
        )
        try:
            done, _ = await asyncio.wait(
                {key_task, words_task}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
            if key_task in done:
                return key_task.result()
            if words_task in done and (words := words_task.result()):
                return await self._judge(words)
            # Words not decided in time: a key may still come until the deadline.
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(key_task), seconds / 2)
            return ConsultReply.UNCLEAR
        finally:
            for task in (key_task, words_task):
                task.cancel()
            await asyncio.gather(key_task, words_task, return_exceptions=True)

    async def _next_answer_key(self) -> ConsultReply:
        while True:
            answer = reply_from_key(await self._keys.get())
            if answer is not ConsultReply.UNCLEAR:
                return answer

    async def connect(self, identity: str) -> None:
        human = await audio_track(self._room, identity, 3.0)
        caller = await audio_track(self._call_room, self._caller, 3.0)
        if human is None or caller is None:
            raise RuntimeError("no audio track to relay between caller and human")
        out = rtc.AudioSource(RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track(RELAY_TRACK, out)
        await self._call_room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        # The caller's audio goes to the consult room, where only the human may subscribe
        # (the human's allow-all grant from `first_words` covers this later track).
        back = rtc.AudioSource(RATE, 1)
        await self._room.local_participant.publish_track(
            rtc.LocalAudioTrack.create_audio_track(RELAY_TRACK, back),
            rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE),
        )
        self._relays.add(asyncio.ensure_future(self._relay(human, out, caller, back)))

    async def _relay(
        self,
        human: rtc.Track,
        to_caller: rtc.AudioSource,
        caller: rtc.Track,
        to_human: rtc.AudioSource,
    ) -> None:
        """Copy audio both ways until either leg's track ends; then end both legs."""

        async def pump(track: rtc.Track, out: rtc.AudioSource) -> None:
            stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
            try:
                async for event in stream:
                    await out.capture_frame(event.frame)
            finally:
                await stream.aclose()

        pumps = [
            asyncio.ensure_future(pump(human, to_caller)),
            asyncio.ensure_future(pump(caller, to_human)),
        ]
        ended = asyncio.Event()

        def on_left(participant: rtc.RemoteParticipant) -> None:
            if participant.identity in (self._caller, self._human):
                ended.set()

        self._room.on("participant_disconnected", on_left)
        self._call_room.on("participant_disconnected", on_left)
        try:
            waiter = asyncio.ensure_future(ended.wait())
            await asyncio.wait([*pumps, waiter], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            logger.info("transfer relay ended", extra={"room": self.room})
            await self._end_both()

    async def _end_both(self) -> None:
        for name in (self._call_room.name, self.room):
            with contextlib.suppress(api.TwirpError, TimeoutError):
                await asyncio.wait_for(self._lk.room.delete_room(DeleteRoomRequest(room=name)), 10)
        await self._room.disconnect()

    async def close(self) -> None:
        await self._room.disconnect()


def room_consult_lines(
    *,
    call_room: rtc.Room,
    caller_identity: str,
    lk: api.LiveKitAPI,
    url: str,
    api_key: str,
    api_secret: str,
    speech: tts.TTS,
    recognizer: stt.STT,
    detector: vad.VAD,
    judge: ReplyJudge,
    relays: Relays,
) -> Callable[[str], RoomConsultLine]:
    """The desk's `consult` for a real call: one `RoomConsultLine` per attempt."""

    def line(room: str) -> RoomConsultLine:
        return RoomConsultLine(
            room,
            call_room=call_room,
            caller_identity=caller_identity,
            lk=lk,
            url=url,
            api_key=api_key,
            api_secret=api_secret,
            speech=speech,
            recognizer=recognizer,
            detector=detector,
            judge=judge,
            relays=relays,
        )

    return line
