"""Transfers against the LiveKit double, with the unmodified `livekit.api.LiveKitAPI` client.

Each failure of the human's leg is scripted on the double; the assertions read the exact
requests the double received, the room afterwards, what the caller heard (hold, brief)
and the one typed result each transfer records.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from livekit.protocol.room import RoomParticipantIdentity
from livekit.protocol.sip import (
    CreateSIPOutboundTrunkRequest,
    CreateSIPParticipantRequest,
    SIPOutboundTrunkInfo,
    TransferSIPParticipantRequest,
)

from dialtone.personas import TransferTarget
from dialtone.telephony.outcomes import (
    TransferOutcome,
    TransferResult,
    add_transfer_listener,
    transfer_counts,
)
from dialtone.telephony.transfer import LiveKitApiCalls, TransferDesk
from tests.livekit_double import LiveKitDouble

ROOM = "call-room-1"
HUMAN = "+15550100111"
OPEN_TIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
CLOSED_TIME = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Sunday 18:00 in New York
HUMAN_ID = "transfer-front-desk"


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


@pytest.fixture
def recorded() -> Iterator[list[tuple[TransferResult, str | None]]]:
    """Every result that went through `record_transfer` during the test."""
    seen: list[tuple[TransferResult, str | None]] = []
    remove = add_transfer_listener(lambda result, call_id: seen.append((result, call_id)))
    yield seen
    remove()


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


def in_room(double: LiveKitDouble) -> set[str]:
    return set(double.state.participants.get(ROOM, {}))


async def test_warm_answered_bridges_human_into_callers_room(
    livekit_double: LiveKitDouble,
    desk: tuple[TransferDesk, str],
    recorded: list[tuple[TransferResult, str | None]],
) -> None:
    transfer_desk, trunk_id = desk
    side = Side()
    before = transfer_counts().get("completed", 0)
    result = await transfer_desk.warm(warm(dtmf="ww12#"), side, "Hi, Jane about a refill.")

    assert result.outcome is TransferOutcome.COMPLETED and result.mechanism == "bridge"
    [dial] = livekit_double.sip.dials
    expected = CreateSIPParticipantRequest(
        sip_trunk_id=trunk_id,
        sip_call_to=HUMAN,
        room_name=ROOM,
        participant_identity=HUMAN_ID,
        participant_name="front desk",
        participant_attributes={"dialtone.role": "transfer-human"},
        wait_until_answered=True,
        play_dialtone=False,
        dtmf="ww12#",  # menu digits on the human's leg only
    )
    expected.ringing_timeout.seconds = 25
    assert dial.request == expected
    assert dial.outcome == "answered"
    assert in_room(livekit_double) == {"caller", HUMAN_ID}
    assert side.events == ["hold", "unhold", "say:Hi, Jane about a refill.", "leave"]
    # The bridge: one dial, room checks, nothing moved, transferred or removed.
    assert methods(livekit_double) == [
        "ListSIPOutboundTrunk",
        "CreateSIPParticipant",
        "GetParticipant",
        "GetParticipant",
    ]
    assert transfer_counts()["completed"] == before + 1
    assert [(r.outcome, c) for r, c in recorded] == [(TransferOutcome.COMPLETED, "SCL_in")]


async def test_extension_digits_follow_the_menu_digits_on_the_human_leg(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    await transfer_desk.warm(warm(dtmf="1", ring_seconds=40), Side(), "b", digits="204")
    [dial] = livekit_double.sip.dials
    assert dial.request.dtmf == "1ww204"
    assert dial.request.ringing_timeout.seconds == 40


@pytest.mark.parametrize(
    ("code", "reason", "outcome"),
    [
        (486, "Busy Here", TransferOutcome.BUSY),
        (600, "Busy Everywhere", TransferOutcome.BUSY),
        (603, "Decline", TransferOutcome.DECLINED),
        (480, "Temporarily Unavailable", TransferOutcome.NO_ANSWER),
        (404, "Not Found", TransferOutcome.TRUNK_FAILURE),
        (403, "Forbidden", TransferOutcome.TRUNK_FAILURE),
        (503, "Service Unavailable", TransferOutcome.TRUNK_FAILURE),
    ],
)
async def test_warm_failures_keep_the_caller_and_carry_the_sip_status(
    livekit_double: LiveKitDouble,
    desk: tuple[TransferDesk, str],
    recorded: list[tuple[TransferResult, str | None]],
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
    assert [d.sip_status_code for d in livekit_double.sip.dials] == [code]
    assert side.events == ["hold", "unhold"]  # taken back; the agent did not leave
    assert in_room(livekit_double) == {"caller"}
    assert [r for r, _ in recorded] == [result]


async def test_warm_ringing_timeout_is_no_answer(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    livekit_double.sip.script_call(HUMAN, ringing_timeout=True)
    side = Side()
    result = await transfer_desk.warm(warm(), side, "brief")
    assert result.outcome is TransferOutcome.NO_ANSWER and result.sip_status_code is None
    assert [d.outcome for d in livekit_double.sip.dials] == ["no_answer"]
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
    assert heard == [HUMAN_ID]
    [removal] = livekit_double.calls_to("RemoveParticipant")
    assert removal.request == RoomParticipantIdentity(room=ROOM, identity=HUMAN_ID)
    assert in_room(livekit_double) == {"caller"}
    assert side.events == ["hold", "unhold"]


async def test_a_person_answering_is_not_voicemail(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk

    async def first_words(identity: str) -> str:
        return "Front desk, this is Maria."

    transfer_desk.first_words = first_words
    result = await transfer_desk.warm(warm(), Side(), "brief")
    assert result.outcome is TransferOutcome.COMPLETED
    assert "RemoveParticipant" not in methods(livekit_double)


async def test_warm_human_who_hangs_up_after_answering_is_dropped(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk

    async def hangs_up(identity: str) -> str:
        # The human answered, said hello, then hung up: the server removes the participant.
        livekit_double.state.remove_participant(ROOM, identity)
        return "hello?"

    transfer_desk.first_words = hangs_up
    side = Side()
    result = await transfer_desk.warm(warm(), side, "brief")
    assert result.outcome is TransferOutcome.DROPPED_AFTER_CONNECT
    assert result.outcome.is_incident
    assert side.events == ["hold", "unhold"]


async def test_caller_who_hangs_up_on_hold_releases_the_human(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk

    async def caller_gone(identity: str) -> str:
        livekit_double.state.remove_participant(ROOM, "caller")
        return "Front desk, hello?"

    transfer_desk.first_words = caller_gone
    side = Side()
    result = await transfer_desk.warm(warm(), side, "brief")
    assert result.outcome is TransferOutcome.CALLER_LEFT
    [removal] = livekit_double.calls_to("RemoveParticipant")
    assert removal.request == RoomParticipantIdentity(room=ROOM, identity=HUMAN_ID)
    assert side.events == ["hold", "unhold"]


async def test_warm_unknown_trunk_is_a_trunk_failure_without_dialing(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    result = await transfer_desk.warm(warm(outbound_trunk="nope"), Side(), "brief")
    assert result.outcome is TransferOutcome.TRUNK_FAILURE and "nope" in result.detail
    assert livekit_double.sip.dials == []


async def test_lost_connection_to_livekit_is_a_recorded_trunk_failure(
    livekit_double: LiveKitDouble,
    desk: tuple[TransferDesk, str],
    recorded: list[tuple[TransferResult, str | None]],
) -> None:
    transfer_desk, _ = desk
    livekit_double.faults.inject("CreateSIPParticipant", drop=True)
    side = Side()
    result = await transfer_desk.warm(warm(), side, "brief")
    assert result.outcome is TransferOutcome.TRUNK_FAILURE
    assert side.events == ["hold", "unhold"]  # the caller is taken off hold, not left there
    assert [r for r, _ in recorded] == [result]


async def test_after_hours_dials_nobody(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    transfer_desk.clock = lambda: CLOSED_TIME
    side = Side()
    assert (await transfer_desk.warm(warm(), side, "b")).outcome is TransferOutcome.AFTER_HOURS
    assert (await transfer_desk.cold(cold(), side, "b")).outcome is TransferOutcome.AFTER_HOURS
    assert side.events == [] and livekit_double.calls == []
    assert transfer_desk.callback_phrase(warm()) == "tomorrow after 8 AM"


async def test_cold_transfer_refers_the_caller(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    side = Side()
    result = await transfer_desk.cold(cold(), side, "brief")
    assert result.outcome is TransferOutcome.COMPLETED and result.mechanism == "refer"
    [transfer] = livekit_double.sip.transfers
    expected = TransferSIPParticipantRequest(
        room_name=ROOM, participant_identity="caller", transfer_to=f"tel:{HUMAN}"
    )
    expected.ringing_timeout.seconds = 25
    assert transfer.request == expected
    assert methods(livekit_double) == ["TransferSIPParticipant"]
    assert in_room(livekit_double) == set()  # the caller's leg went to the human
    assert side.events == ["leave"]


async def test_cold_transfer_to_sip_uri(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    target = TransferTarget(name="billing", sip_uri="sip:billing@pbx.example", kind="cold")
    result = await transfer_desk.cold(target, Side(), "brief")
    assert result.outcome is TransferOutcome.COMPLETED
    assert livekit_double.sip.transfers[0].request.transfer_to.strip("<>") == (
        "sip:billing@pbx.example"
    )


@pytest.mark.parametrize("code", [603, 403])
async def test_refer_refused_falls_back_to_a_bridge(
    livekit_double: LiveKitDouble,
    desk: tuple[TransferDesk, str],
    recorded: list[tuple[TransferResult, str | None]],
    code: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    transfer_desk, trunk_id = desk
    livekit_double.sip.script_transfer(f"tel:{HUMAN}", sip_status_code=code, sip_status="No")
    side = Side()
    result = await transfer_desk.cold(cold(), side, "Hi, a caller for you.")
    assert result.outcome is TransferOutcome.COMPLETED
    assert (result.mechanism, result.refer_refused_code) == ("bridge", code)
    assert methods(livekit_double)[:3] == [
        "TransferSIPParticipant",
        "ListSIPOutboundTrunk",
        "CreateSIPParticipant",
    ]
    [dial] = livekit_double.sip.dials
    assert (dial.request.sip_trunk_id, dial.request.sip_call_to, dial.request.room_name) == (
        trunk_id,
        HUMAN,
        ROOM,
    )
    assert side.events == ["hold", "unhold", "say:Hi, a caller for you.", "leave"]
    # One transfer, one record: the refusal is part of it, logged as needing attention.
    assert [r for r, _ in recorded] == [result]
    [line] = [r for r in caplog.records if getattr(r, "transfer_outcome", "") == "completed"]
    assert line.levelname == "WARNING" and line.refer_refused_code == code
    assert "enable call transfer (REFER)" in line.detail


async def test_refer_refused_without_a_way_to_bridge(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    uri = "sip:billing@pbx.example"
    livekit_double.sip.script_transfer(uri, sip_status_code=603, sip_status="Decline")
    target = TransferTarget(name="billing", sip_uri=uri, kind="cold")  # no outbound trunk
    side = Side()
    result = await transfer_desk.cold(target, side, "brief")
    assert result.outcome is TransferOutcome.REFER_REFUSED and result.sip_status_code == 603
    assert "outbound_trunk" in result.detail
    assert livekit_double.sip.dials == [] and side.events == []
    assert in_room(livekit_double) == {"caller"}


async def test_refer_refused_then_human_busy(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    livekit_double.sip.script_transfer(f"tel:{HUMAN}", sip_status_code=603, sip_status="Decline")
    livekit_double.sip.script_call(HUMAN, sip_status_code=486, sip_status="Busy Here")
    side = Side()
    result = await transfer_desk.cold(cold(), side, "brief")
    assert result.outcome is TransferOutcome.BUSY and result.sip_status_code == 486
    assert result.refer_refused_code == 603
    assert side.events == ["hold", "unhold"]


async def test_cold_transfer_busy_target_is_not_refused(
    livekit_double: LiveKitDouble, desk: tuple[TransferDesk, str]
) -> None:
    transfer_desk, _ = desk
    livekit_double.sip.script_transfer(f"tel:{HUMAN}", sip_status_code=486, sip_status="Busy")
    side = Side()
    result = await transfer_desk.cold(cold(), side, "brief")
    assert result.outcome is TransferOutcome.BUSY and result.sip_status_code == 486
    assert result.refer_refused_code is None
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
    assert in_room(livekit_double) == {"caller"}


@pytest.mark.parametrize("move", [True, False])
async def test_bridge_works_with_and_without_move_participant(move: bool) -> None:
    double = LiveKitDouble() if move else LiveKitDouble.self_hosted()
    with double:
        async for transfer_desk, _ in _setup(double):
            result = await transfer_desk.warm(warm(), Side(), "brief")
            assert result.outcome is TransferOutcome.COMPLETED
            assert "MoveParticipant" not in methods(double)
            assert set(double.state.participants[ROOM]) == {"caller", HUMAN_ID}


async def test_a_transfer_cancelled_by_the_call_ending_is_recorded_and_released(
    livekit_double: LiveKitDouble,
    desk: tuple[TransferDesk, str],
    recorded: list[tuple[TransferResult, str | None]],
) -> None:
    transfer_desk, _ = desk
    on_hold = asyncio.Event()

    class HoldSide(Side):
        async def start_hold(self) -> None:
            await super().start_hold()
            on_hold.set()

    livekit_double.sip.script_call(HUMAN, delay=5.0)  # still ringing when the call ends
    side = HoldSide()
    attempt = asyncio.ensure_future(transfer_desk.warm(warm(), side, "brief"))
    await on_hold.wait()
    attempt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attempt
    assert [r.outcome for r, _ in recorded] == [TransferOutcome.CALLER_LEFT]
    [removal] = livekit_double.calls_to("RemoveParticipant")
    assert removal.request == RoomParticipantIdentity(room=ROOM, identity=HUMAN_ID)
    assert side.events == ["hold", "unhold"]
