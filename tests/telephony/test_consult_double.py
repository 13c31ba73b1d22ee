"""A private warm transfer against the LiveKit double: the real requests, in order.

The desk runs consult-then-connect with the unmodified `livekit.api.LiveKitAPI` client
against the double; the test's consult line acts in the consult room the way the
worker's does (joins as an agent, publishes the brief for the human only, hears the
human, relays on acceptance), recording what the double's routing model (media.py)
says each side could hear at every step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from livekit.protocol.sip import CreateSIPOutboundTrunkRequest, SIPOutboundTrunkInfo

from dialtone.personas import TransferTarget
from dialtone.telephony.consult import (
    CONSULT_AGENT_IDENTITY,
    ConsultReply,
    consult_room_name,
    reply_from_key,
)
from dialtone.telephony.outcomes import TransferOutcome
from dialtone.telephony.transfer import LiveKitApiCalls, TransferDesk
from tests.livekit_double import LiveKitDouble
from tests.livekit_double.media import Grant

from .test_transfer_double import HUMAN, HUMAN_ID, OPEN_TIME, ROOM, Side, warm

CONSULT = consult_room_name(ROOM)


@dataclass
class DoubleConsultLine:
    """A consult line whose media is the double's model; `answer` is the human's reply."""

    room: str
    double: LiveKitDouble
    answer: ConsultReply | str = ConsultReply.ACCEPT
    greeting: str = "Hello, front desk."
    steps: list[str] = field(default_factory=list)
    #: At each step: could the caller hear the human; could the human hear the brief?
    caller_heard_human: list[bool] = field(default_factory=list)
    human_heard_brief: bool = False

    def _caller_hears_human(self) -> bool:
        return any(
            self.double.media.hears_anyone(room, "caller", HUMAN_ID) for room in (ROOM, CONSULT)
        )

    async def open(self) -> None:
        self.steps.append("open")
        self.double.add_participant(self.room, CONSULT_AGENT_IDENTITY, kind="agent")

    async def first_words(self, identity: str) -> str | None:
        self.steps.append("first_words")
        self.caller_heard_human.append(self._caller_hears_human())
        return self.greeting

    async def brief(self, identity: str, text: str) -> None:
        self.steps.append("brief")
        sid = self.double.media.publish(self.room, CONSULT_AGENT_IDENTITY, "brief")
        self.double.media.set_permissions(
            self.room,
            CONSULT_AGENT_IDENTITY,
            allow_all_participants=False,
            grants={identity: Grant(frozenset({sid}))},
        )
        self.human_heard_brief = (CONSULT_AGENT_IDENTITY, "brief") in self.double.media.hears(
            self.room, identity
        )
        self.caller_heard_human.append(self._caller_hears_human())

    async def reply(self, identity: str, seconds: float) -> ConsultReply:
        self.steps.append("reply")
        if isinstance(self.answer, str):  # a key the human presses
            self.double.media.press(self.room, identity, self.answer)
            return reply_from_key(self.answer)
        self.caller_heard_human.append(self._caller_hears_human())
        return self.answer

    async def connect(self, identity: str) -> None:
        self.steps.append("connect")

    async def close(self) -> None:
        self.steps.append("close")
        self.double.state.remove_participant(self.room, CONSULT_AGENT_IDENTITY)


@pytest.fixture
async def desk(livekit_double: LiveKitDouble) -> AsyncIterator[TransferDesk]:
    livekit_double.add_participant(ROOM, "caller", kind="sip", attributes={"sip.callID": "SCL"})
    async with livekit_double.client() as lk:
        await lk.sip.create_outbound_trunk(
            CreateSIPOutboundTrunkRequest(
                trunk=SIPOutboundTrunkInfo(
                    name="carrier-outbound", address="sip.carrier.example", numbers=["+15550100"]
                )
            )
        )
        livekit_double.calls.clear()
        yield TransferDesk(
            LiveKitApiCalls(lk), room=ROOM, caller_identity="caller", clock=lambda: OPEN_TIME
        )


def line_for(desk: TransferDesk, line: DoubleConsultLine) -> None:
    def make(room: str) -> DoubleConsultLine:
        assert room == line.room
        return line

    desk.consult = make


async def test_accepted_transfer_dials_the_human_into_the_consult_room_only(
    livekit_double: LiveKitDouble, desk: TransferDesk
) -> None:
    line = DoubleConsultLine(CONSULT, livekit_double)
    line_for(desk, line)
    side = Side()
    target: TransferTarget = warm(dtmf="ww12#")
    result = await desk.warm(target, side, "Hi front desk, a caller about a refill.")

    assert (result.outcome, result.mechanism) == (TransferOutcome.COMPLETED, "consult")
    [dial] = livekit_double.sip.dials
    assert (dial.request.room_name, dial.request.sip_call_to) == (CONSULT, HUMAN)
    assert dial.request.dtmf == "ww12#"  # menu digits on the human's leg, in its own room
    assert line.steps == ["open", "first_words", "brief", "reply", "connect"]
    assert line.human_heard_brief
    assert line.caller_heard_human == [False, False, False]
    assert HUMAN_ID not in livekit_double.state.participants[ROOM]
    # The caller is on hold for the whole consult and the agent leaves only after connecting.
    assert side.events == ["hold", "unhold", "leave"]
    assert [c.method for c in livekit_double.calls] == [
        "ListSIPOutboundTrunk",
        "CreateSIPParticipant",
        "GetParticipant",
        "GetParticipant",
        "GetParticipant",
    ]


async def test_declined_transfer_hangs_up_the_human_in_the_consult_room(
    livekit_double: LiveKitDouble, desk: TransferDesk
) -> None:
    line = DoubleConsultLine(CONSULT, livekit_double, answer=ConsultReply.DECLINE)
    line_for(desk, line)
    side = Side()
    result = await desk.warm(warm(), side, "brief")

    assert result.outcome is TransferOutcome.DECLINED and "declined" in result.detail
    removed = livekit_double.calls_to("RemoveParticipant")
    assert [(c.request.room, c.request.identity) for c in removed] == [(CONSULT, HUMAN_ID)]
    assert line.steps[-1] == "close" and "connect" not in line.steps
    assert side.events == ["hold", "unhold"]  # taken back, never left
    assert not any(line.caller_heard_human)


async def test_a_key_the_human_presses_is_never_played_to_the_caller(
    livekit_double: LiveKitDouble, desk: TransferDesk
) -> None:
    line = DoubleConsultLine(CONSULT, livekit_double, answer="1")
    line_for(desk, line)
    result = await desk.warm(warm(), Side(), "brief")

    assert result.outcome is TransferOutcome.COMPLETED
    assert livekit_double.media.keys_played.get("caller", []) == []
    assert livekit_double.media.dtmf_events[CONSULT_AGENT_IDENTITY] == [(HUMAN_ID, "1")]


async def test_unclear_answer_counts_as_declined(
    livekit_double: LiveKitDouble, desk: TransferDesk
) -> None:
    line_for(desk, DoubleConsultLine(CONSULT, livekit_double, answer=ConsultReply.UNCLEAR))
    result = await desk.warm(warm(), Side(), "brief")
    assert result.outcome is TransferOutcome.DECLINED and "no answer" in result.detail


async def test_voicemail_in_the_consult_room_is_never_briefed(
    livekit_double: LiveKitDouble, desk: TransferDesk
) -> None:
    greeting = "You've reached the front desk, please leave a message after the tone."
    line = DoubleConsultLine(CONSULT, livekit_double, greeting=greeting)
    line_for(desk, line)
    result = await desk.warm(warm(), Side(), "brief")
    assert result.outcome is TransferOutcome.VOICEMAIL
    assert "brief" not in line.steps
    removed = livekit_double.calls_to("RemoveParticipant")
    assert [(c.request.room, c.request.identity) for c in removed] == [(CONSULT, HUMAN_ID)]


async def test_busy_human_never_reaches_the_consult(
    livekit_double: LiveKitDouble, desk: TransferDesk
) -> None:
    livekit_double.sip.script_call(HUMAN, sip_status_code=486, sip_status="Busy Here")
    line = DoubleConsultLine(CONSULT, livekit_double)
    line_for(desk, line)
    result = await desk.warm(warm(), Side(), "brief")
    assert (result.outcome, result.sip_status_code) == (TransferOutcome.BUSY, 486)
    assert line.steps == ["open", "close"]


async def test_works_on_a_self_hosted_server_without_move_participant() -> None:
    double = LiveKitDouble.self_hosted()
    with double:
        double.add_participant(ROOM, "caller", kind="sip", attributes={"sip.callID": "SCL"})
        async with double.client() as lk:
            await lk.sip.create_outbound_trunk(
                CreateSIPOutboundTrunkRequest(
                    trunk=SIPOutboundTrunkInfo(
                        name="carrier-outbound", address="sip.carrier.example", numbers=["+1555"]
                    )
                )
            )
            desk = TransferDesk(
                LiveKitApiCalls(lk), room=ROOM, caller_identity="caller", clock=lambda: OPEN_TIME
            )
            line_for(desk, DoubleConsultLine(CONSULT, double))
            result = await desk.warm(warm(), Side(), "brief")
    assert result.outcome is TransferOutcome.COMPLETED
    assert double.count("MoveParticipant") == 0


async def test_a_failing_consult_line_releases_the_human_and_keeps_the_caller(
    livekit_double: LiveKitDouble, desk: TransferDesk
) -> None:
    class BrokenBrief(DoubleConsultLine):
        async def brief(self, identity: str, text: str) -> None:
            raise RuntimeError("TTS provider down")

    line = BrokenBrief(CONSULT, livekit_double)
    line_for(desk, line)
    side = Side()
    result = await desk.warm(warm(), side, "brief")
    assert result.outcome is TransferOutcome.TRUNK_FAILURE and "TTS" in result.detail
    removed = livekit_double.calls_to("RemoveParticipant")
    assert [(c.request.room, c.request.identity) for c in removed] == [(CONSULT, HUMAN_ID)]
    assert side.events == ["hold", "unhold"] and line.steps[-1] == "close"
