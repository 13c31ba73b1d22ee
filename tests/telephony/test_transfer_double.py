"""Transfers against the LiveKit double, with the unmodified `livekit.api.LiveKitAPI` client.

Each failure of the human's leg is scripted on the double; the assertions read the exact
requests the double received and the typed outcome the desk returned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from livekit import api
from livekit.protocol.sip import CreateSIPOutboundTrunkRequest, SIPOutboundTrunkInfo

from agents.personas import TransferTarget
from agents.telephony.outcomes import TransferOutcome, transfer_counts
from agents.telephony.transfer import LiveKitApiCalls, TransferDesk
from tests.livekit_double import LiveKitDouble

ROOM = "call-room-1"
HUMAN = "+15550100111"
OPEN_TIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
CLOSED_TIME = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Sunday 18:00 in New York


class Side:
    """The caller's side, recording what the caller would hear, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def start_hold(self) -> None:
        self.events.append("hold")

    async def stop_hold(self) -> None:
        self.events.append("unhold")

    async def say(self, text: str) -> None:
        self.events.append(f"say:{text}")

    async def leave(self) -> None:
        self.events.append("leave")


def warm(**kw: object) -> TransferTarget:
    fields: dict[str, object] = {
        "name": "front desk",
        "phone": HUMAN,
        "outbound_trunk": "carrier-outbound",
        "hours": "Mon-Fri 08:00-17:00 America/New_York",
    }
    fields.update(kw)
    return TransferTarget.model_validate(fields)


def cold(**kw: object) -> TransferTarget:
    return warm(kind="cold", **kw)


async def _setup(double: LiveKitDouble) -> AsyncIterator[tuple[TransferDesk, str]]:
    double.add_participant(ROOM, "caller", kind="sip", attributes={"sip.callID": "SCL_in"})
    async with double.client() as lk:
        trunk = await lk.sip.create_outbound_trunk(
            CreateSIPOutboundTrunkRequest(
                trunk=SIPOutboundTrunkInfo(
                    name="carrier-outbound", address="sip.carrier.example", numbers=["+15550100"]
                )
            )
        )
        double.calls.clear()
        desk = TransferDesk(
            LiveKitApiCalls(lk),
            room=ROOM,
            caller_identity="caller",
            call_id="SCL_in",
            clock=lambda: OPEN_TIME,
        )
        yield desk, trunk.sip_trunk_id


@pytest.fixture
async def desk(livekit_double: LiveKitDouble) -> AsyncIterator[tuple[TransferDesk, str]]:
    async for item in _setup(livekit_double):
        yield item


def methods(double: LiveKitDouble) -> list[str]:
    return [c.method for c in double.calls]


async def test_warm_answered_bridges_human_into_callers_room(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, trunk_id = desk
    side = Side()
    before = transfer_counts().get("completed", 0)
    result = await transfer_desk.warm(warm(dtmf="ww12#"), side, "Hi, Jane about a refill.")

    assert result.outcome is TransferOutcome.COMPLETED and result.mechanism == "bridge"
    [dial] = livekit_double.sip.dials
    request = dial.request
    assert (request.sip_trunk_id, request.sip_call_to, request.room_name) == (
        trunk_id,
        HUMAN,
        ROOM,
    )
    assert request.participant_identity == "transfer-front-desk"
    assert request.wait_until_answered and request.ringing_timeout.seconds == 25
    assert request.dtmf == "ww12#"  # menu digits on the human's leg only
    assert dial.outcome == "answered"
    assert "transfer-front-desk" in livekit_double.state.participants[ROOM]
    assert "caller" in livekit_double.state.participants[ROOM]
    assert side.events == ["hold", "unhold", "say:Hi, Jane about a refill.", "leave"]
    assert "MoveParticipant" not in methods(livekit_double)
    assert transfer_counts()["completed"] == before + 1


@pytest.mark.parametrize(
    ("code", "reason", "outcome"),
    [
        (486, "Busy Here", TransferOutcome.BUSY),
        (603, "Decline", TransferOutcome.DECLINED),
        (480, "Temporarily Unavailable", TransferOutcome.NO_ANSWER),
        (404, "Not Found", TransferOutcome.TRUNK_FAILURE),
        (503, "Service Unavailable", TransferOutcome.TRUNK_FAILURE),
    ],
)
async def test_warm_failures_keep_the_caller_and_carry_the_sip_status(
    livekit_double: LiveKitDouble,
    desk: tuple[TransferDesk, str],
    code: int,
    reason: str,
    outcome: TransferOutcome,
) -> None:
    transfer_desk, _ = desk
    livekit_double.sip.script_call(HUMAN, sip_status_code=code, sip_status=reason)
    side = Side()
    result = await transfer_desk.warm(warm(), side, "brief")
    assert result.outcome is outcome
    assert result.sip_status_code == code and result.sip_status == reason
    assert side.events == ["hold", "unhold"]  # taken back; the agent did not leave
    assert "caller" in livekit_double.state.participants[ROOM]
    assert "transfer-front-desk" not in livekit_double.state.participants[ROOM]


async def test_warm_ringing_timeout_is_no_answer(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    livekit_double.sip.script_call(HUMAN, ringing_timeout=True)
    side = Side()
    result = await transfer_desk.warm(warm(), side, "brief")
    assert result.outcome is TransferOutcome.NO_ANSWER and result.sip_status_code is None
    assert side.events == ["hold", "unhold"]


async def test_warm_voicemail_hangs_up_the_human_leg(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    heard: list[str] = []

    async def first_words(identity: str) -> str:
        heard.append(identity)
        return "You've reached the front desk, please leave a message after the tone."

    transfer_desk.first_words = first_words
    side = Side()
    result = await transfer_desk.warm(warm(), side, "brief")
    assert result.outcome is TransferOutcome.VOICEMAIL
    assert heard == ["transfer-front-desk"]
    assert "RemoveParticipant" in methods(livekit_double)
    assert "transfer-front-desk" not in livekit_double.state.participants[ROOM]
    assert side.events == ["hold", "unhold"]


async def test_warm_human_who_hangs_up_after_answering_is_dropped(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk

    async def hangs_up(identity: str) -> str:
        # The human answered, said hello, then hung up: the server removes the participant.
        del livekit_double.state.participants[ROOM][identity]
        return "hello?"

    transfer_desk.first_words = hangs_up
    side = Side()
    result = await transfer_desk.warm(warm(), side, "brief")
    assert result.outcome is TransferOutcome.DROPPED_AFTER_CONNECT
    assert result.outcome.is_incident
    assert side.events == ["hold", "unhold"]


async def test_warm_unknown_trunk_is_a_trunk_failure_without_dialing(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    result = await transfer_desk.warm(warm(outbound_trunk="nope"), Side(), "brief")
    assert result.outcome is TransferOutcome.TRUNK_FAILURE and "nope" in result.detail
    assert livekit_double.sip.dials == []


async def test_after_hours_dials_nobody(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    transfer_desk.clock = lambda: CLOSED_TIME
    side = Side()
    for target in (warm(), cold()):
        result = (
            await transfer_desk.warm(target, side, "b")
            if target.kind == "warm"
            else (await transfer_desk.cold(target, side, "b"))
        )
        assert result.outcome is TransferOutcome.AFTER_HOURS
    assert side.events == [] and livekit_double.sip.dials == []
    assert livekit_double.sip.transfers == []
    assert transfer_desk.callback_phrase(warm()) == "tomorrow after 8 AM"


async def test_cold_transfer_refers_the_caller(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    side = Side()
    result = await transfer_desk.cold(cold(), side, "brief")
    assert result.outcome is TransferOutcome.COMPLETED and result.mechanism == "refer"
    [transfer] = livekit_double.sip.transfers
    assert transfer.request.room_name == ROOM
    assert transfer.request.participant_identity == "caller"
    assert transfer.request.transfer_to == f"tel:{HUMAN}"
    assert livekit_double.sip.dials == []
    assert side.events == ["leave"]


async def test_cold_transfer_to_sip_uri(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    target = TransferTarget(
        name="billing", sip_uri="sip:billing@pbx.example", kind="cold", outbound_trunk="x"
    )
    result = await transfer_desk.cold(target, Side(), "brief")
    assert result.outcome is TransferOutcome.COMPLETED
    assert livekit_double.sip.transfers[0].request.transfer_to.strip("<>") == (
        "sip:billing@pbx.example"
    )


@pytest.mark.parametrize("code", [603, 403])
async def test_refer_refused_falls_back_to_a_bridge(
    livekit_double: LiveKitDouble,
    desk: tuple[TransferDesk, str],
    code: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    transfer_desk, trunk_id = desk
    livekit_double.sip.script_transfer(f"tel:{HUMAN}", sip_status_code=code, sip_status="No")
    side = Side()
    result = await transfer_desk.cold(cold(), side, "Hi, a caller for you.")
    assert result.outcome is TransferOutcome.COMPLETED
    assert result.mechanism == "refer-refused→bridge"
    assert methods(livekit_double).index("TransferSIPParticipant") < methods(livekit_double).index(
        "CreateSIPParticipant"
    )
    [dial] = livekit_double.sip.dials
    assert dial.request.sip_trunk_id == trunk_id and dial.request.room_name == ROOM
    assert side.events == ["hold", "unhold", "say:Hi, a caller for you.", "leave"]
    refused = [r for r in caplog.records if getattr(r, "transfer_outcome", "") == "refer_refused"]
    assert refused and refused[0].sip_status_code == code
    assert "enable call transfer" in refused[0].detail


async def test_refer_refused_then_human_busy(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    livekit_double.sip.script_transfer(f"tel:{HUMAN}", sip_status_code=603, sip_status="Decline")
    livekit_double.sip.script_call(HUMAN, sip_status_code=486, sip_status="Busy Here")
    side = Side()
    result = await transfer_desk.cold(cold(), side, "brief")
    assert result.outcome is TransferOutcome.BUSY and result.sip_status_code == 486
    assert side.events == ["hold", "unhold"]


async def test_cold_transfer_busy_target_is_not_refused(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    livekit_double.sip.script_transfer(f"tel:{HUMAN}", sip_status_code=486, sip_status="Busy")
    side = Side()
    result = await transfer_desk.cold(cold(), side, "brief")
    assert result.outcome is TransferOutcome.BUSY and result.sip_status_code == 486
    assert livekit_double.sip.dials == [] and side.events == []


async def test_cold_transfer_that_does_not_complete(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    livekit_double.sip.script_transfer(f"tel:{HUMAN}", status="STS_TRANSFER_ONGOING")
    side = Side()
    result = await transfer_desk.cold(cold(), side, "brief")
    # The caller is still in the room: the transfer did not happen and the agent stays.
    assert result.outcome is TransferOutcome.TRUNK_FAILURE
    assert "STS_TRANSFER_ONGOING" in result.detail
    assert side.events == []
    assert "caller" in livekit_double.state.participants[ROOM]


@pytest.mark.parametrize("move", [True, False])
async def test_bridge_works_with_and_without_move_participant(move: bool) -> None:
    double = LiveKitDouble() if move else LiveKitDouble.self_hosted()
    with double:
        async for transfer_desk, _ in _setup(double):
            result = await transfer_desk.warm(warm(), Side(), "brief")
            assert result.outcome is TransferOutcome.COMPLETED
            assert "MoveParticipant" not in methods(double)
            assert set(double.state.participants[ROOM]) == {"caller", "transfer-front-desk"}


def test_client_is_the_real_one() -> None:
    assert LiveKitApiCalls.__init__.__annotations__["lk"] in ("api.LiveKitAPI", api.LiveKitAPI)
