"""The worker's side of transfers: the desk for a real call, leaving, and caller keys.

Shared by the inbound and outbound entrypoints, and kept out of them so they stay short
lists of steps and so each piece can be built in a test against the LiveKit double and a
plain event emitter.
"""

from __future__ import annotations

import logging
from typing import Protocol

from livekit import api, rtc

from ..config import Settings
from ..pipeline import Pipeline
from ..telephony.consult import ConsultLines
from ..telephony.listen import human_first_words
from ..telephony.transfer import FirstWords, LiveKitApiCalls, TransferDesk
from .briefing import reply_judge
from .consult import Relays, room_consult_lines
from .control import TransferringAgent, Transfers

logger = logging.getLogger("dialtone.worker")


class _Session(Protocol):
    def shutdown(self, *, drain: bool = True) -> None: ...


class _Job(Protocol):
    def shutdown(self, reason: str = ...) -> None: ...


class JobLeaveControl:
    """The agent leaves a call it handed to a human; the call goes on without it.

    Only the agent goes: its session is drained and, once the job's transfer relays have
    ended (a private transfer relays caller and human until either hangs up; ending the
    job earlier would cut them off), the job ends. The room is *not* deleted here (that
    is how `RoomCallControl.hang_up` ends a call) and the session does not delete it on
    close (`delete_room_on_close` is off by default).
    """

    def __init__(self, job: _Job, session: _Session, relays: Relays | None = None) -> None:
        self._job = job
        self._session = session
        self.relays = relays or Relays()

    async def leave(self, reason: str) -> None:
        logger.info("agent leaving the call", extra={"reason": reason})
        self._session.shutdown(drain=True)
        await self.relays.wait()
        self._job.shutdown(reason=reason)


def make_transfers(
    *,
    lk: api.LiveKitAPI,
    room: str,
    caller_identity: str,
    call_id: str | None,
    leave: JobLeaveControl,
    first_words: FirstWords | None = None,
    consult: ConsultLines | None = None,
) -> Transfers:
    """The transfer desk of one real call, on the job's LiveKit API client.

    With `consult` (`job_consult_lines`) warm transfers are private: consult, then
    connect; without, the human is bridged into the caller's room and hears the brief
    with the caller.
    """
    desk = TransferDesk(
        LiveKitApiCalls(lk),
        room=room,
        caller_identity=caller_identity,
        call_id=call_id,
        first_words=first_words,
        consult=consult,
    )
    return Transfers(desk=desk, control=leave)


def job_consult_lines(
    *,
    room: rtc.Room,
    lk: api.LiveKitAPI,
    caller_identity: str,
    settings: Settings,
    pipeline: Pipeline,
    relays: Relays,
) -> ConsultLines:
    """Consult lines for a real call: a second connection with the worker's own keys."""
    return room_consult_lines(
        call_room=room,
        caller_identity=caller_identity,
        lk=lk,
        url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
        speech=pipeline.tts,
        recognizer=pipeline.stt,
        detector=pipeline.vad,
        judge=reply_judge(pipeline.llm),
        relays=relays,
    )


def human_listener(room: rtc.Room, pipeline: Pipeline) -> FirstWords:
    """The desk's `first_words` for a real call: the call's STT on the human's track."""

    async def first_words(identity: str) -> str | None:
        return await human_first_words(room, identity, pipeline.stt, pipeline.vad)

    return first_words


def route_caller_keys(room: rtc.Room, agent: TransferringAgent, caller_identity: str) -> None:
    """Feed the caller's DTMF keys (`sip_dtmf_received`) to the agent.

    Keys from anyone else in the room (the human's leg during the brief) are ignored:
    only the caller chooses where the caller goes.
    """

    def on_key(event: rtc.SipDTMF) -> None:
        sender = event.participant
        if sender is None or sender.identity != caller_identity:
            return
        agent.on_caller_key(event.digit)

    room.on("sip_dtmf_received", on_key)
