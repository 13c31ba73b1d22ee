"""The worker's consult line, the parts that run without a LiveKit server.

Joining rooms and relaying audio need a real server (not available here; see
docs/transfers.md). What is checked: only the human's keys answer the brief, the
first decisive key wins, and the job outlives the agent until the relay has ended.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from livekit import api

from dialtone.call.consult import Relays, RoomConsultLine
from dialtone.call.transfers import JobLeaveControl
from dialtone.telephony.consult import ConsultReply, judge_by_phrases
from tests.fakes import ToneTTS


@dataclass
class Sender:
    identity: str


@dataclass
class Key:
    participant: Sender | None
    digit: str


class Nothing:
    """Stands in for parts the tested methods never touch."""


def line() -> RoomConsultLine:
    return RoomConsultLine(
        "call-consult",
        call_room=Nothing(),  # type: ignore[arg-type]
        caller_identity="caller",
        lk=Nothing(),  # type: ignore[arg-type]
        url="ws://unused",
        api_key="k",
        api_secret="s" * 32,
        speech=ToneTTS(),
        recognizer=Nothing(),  # type: ignore[arg-type]
        detector=Nothing(),  # type: ignore[arg-type]
        judge=judge_by_phrases,
        relays=Relays(),
    )


async def test_only_the_humans_decisive_keys_answer() -> None:
    consult = line()
    consult._human = "transfer-front-desk"
    consult._on_key(Key(Sender("someone-else"), "1"))  # type: ignore[arg-type]
    consult._on_key(Key(None, "1"))  # type: ignore[arg-type]
    consult._on_key(Key(Sender("transfer-front-desk"), "7"))  # type: ignore[arg-type]
    consult._on_key(Key(Sender("transfer-front-desk"), "2"))  # type: ignore[arg-type]
    assert await asyncio.wait_for(consult._next_answer_key(), 1) is ConsultReply.DECLINE


async def test_the_token_joins_the_consult_room_only() -> None:
    claims = api.TokenVerifier("k", "s" * 32).verify(line()._token())
    assert claims.identity == "dialtone-consult"
    assert claims.video is not None and claims.video.room == "call-consult"
    assert claims.video.room_join and not claims.video.room_admin


@dataclass
class Job:
    shutdowns: list[str] = field(default_factory=list)

    def shutdown(self, reason: str = "") -> None:
        self.shutdowns.append(reason)


@dataclass
class Session:
    drained: int = 0

    def shutdown(self, *, drain: bool = True) -> None:
        self.drained += 1


async def test_the_job_ends_only_after_the_relay_has() -> None:
    relays = Relays()
    relay_done = asyncio.Event()
    relays.add(asyncio.ensure_future(relay_done.wait()))
    job, session = Job(), Session()
    control = JobLeaveControl(job, session, relays)
    leaving: asyncio.Task[Any] = asyncio.ensure_future(control.leave("handed over"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert session.drained == 1 and job.shutdowns == []  # the agent is gone, the job is not
    relay_done.set()
    await asyncio.wait_for(leaving, 1)
    assert job.shutdowns == ["handed over"]


async def test_without_a_relay_the_job_ends_at_once() -> None:
    job = Job()
    await asyncio.wait_for(JobLeaveControl(job, Session()).leave("cold"), 1)
    assert job.shutdowns == ["cold"]
