"""CreateSIPParticipant and TransferSIPParticipant with scripted far ends."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api
from livekit.api.twirp_client import SipCallError
from livekit.protocol.models import ParticipantInfo
from livekit.protocol.room import ListParticipantsRequest
from livekit.protocol.sip import (
    CreateSIPOutboundTrunkRequest,
    CreateSIPParticipantRequest,
    SIPOutboundTrunkInfo,
    SIPTransferStatus,
    TransferSIPParticipantRequest,
)

from . import LiveKitDouble


async def trunk(lk: api.LiveKitAPI) -> str:
    t = await lk.sip.create_outbound_trunk(
        CreateSIPOutboundTrunkRequest(
            trunk=SIPOutboundTrunkInfo(address="sip.carrier.example", numbers=["+15550100"])
        )
    )
    return t.sip_trunk_id


def dial(
    trunk_id: str, to: str = "+15551234", *, wait: bool = True, **kw: object
) -> CreateSIPParticipantRequest:
    return CreateSIPParticipantRequest(
        sip_trunk_id=trunk_id,
        sip_call_to=to,
        room_name="call-1",
        participant_identity="callee",
        wait_until_answered=wait,
        **kw,  # type: ignore[arg-type]
    )


async def test_answered_call_joins_the_room(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    tid = await trunk(lk)
    info = await lk.sip.create_sip_participant(dial(tid, participant_attributes={"x": "1"}))
    assert info.room_name == "call-1" and info.participant_identity == "callee"
    assert info.sip_call_id.startswith("SCL_")
    p = livekit_double.state.participants["call-1"]["callee"]
    assert p.kind == ParticipantInfo.Kind.SIP and p.sid == info.participant_id
    assert dict(p.attributes) == {
        "x": "1",
        "sip.callID": info.sip_call_id,
        "sip.trunkID": tid,
        "sip.phoneNumber": "+15551234",
        "sip.hostname": "sip.carrier.example",
        "sip.trunkPhoneNumber": "+15550100",
        "sip.callStatus": "active",
    }
    listed = await lk.room.list_participants(ListParticipantsRequest(room="call-1"))
    assert [x.identity for x in listed.participants] == ["callee"]
    (record,) = livekit_double.sip.dials
    assert record.outcome == "answered" and record.request.sip_call_to == "+15551234"
    # the client pinned a ringing timeout on the request it sent
    assert record.request.ringing_timeout.seconds == 30


@pytest.mark.parametrize(
    ("code", "reason", "twirp_code"),
    [
        (486, "Busy Here", "resource_exhausted"),
        (404, "Not Found", "not_found"),
        (603, "Decline", "permission_denied"),
        (503, "Service Unavailable", "failed_precondition"),
        (480, "Temporarily Unavailable", "resource_exhausted"),
        (487, "Request Terminated", "aborted"),
        (499, "", "invalid_argument"),  # unlisted 4xx
    ],
)
async def test_scripted_failures_raise_sip_call_error(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble, code: int, reason: str, twirp_code: str
) -> None:
    tid = await trunk(lk)
    livekit_double.sip.script_call("+1 555 1234", sip_status_code=code, sip_status=reason)
    with pytest.raises(SipCallError) as info:
        await lk.sip.create_sip_participant(dial(tid))
    err = info.value
    assert err.sip_status_code == code
    assert err.code == twirp_code
    assert err.sip_status == (reason or "499")
    assert err.status < 500  # so the client never retries a refused call
    assert "error_details" in err.metadata
    assert livekit_double.state.participants.get("call-1", {}) == {}
    assert livekit_double.sip.dials[0].outcome == "failed"


async def test_ringing_timeout_is_a_plain_canceled_error(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    tid = await trunk(lk)
    livekit_double.sip.script_call("+15551234", ringing_timeout=True)
    with pytest.raises(api.TwirpError) as info:
        await lk.sip.create_sip_participant(dial(tid))
    assert not isinstance(info.value, SipCallError)
    assert (info.value.code, info.value.status) == ("canceled", 408)
    assert livekit_double.sip.dials[0].outcome == "no_answer"


async def test_script_times_and_delay(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    tid = await trunk(lk)
    livekit_double.sip.script_call("+15551234", sip_status_code=486, times=1)
    with pytest.raises(SipCallError):
        await lk.sip.create_sip_participant(dial(tid))
    livekit_double.sip.script_call("+15551234", delay=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await lk.sip.create_sip_participant(dial(tid))
    assert loop.time() - started >= 0.05


async def test_not_waiting_returns_while_dialing(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    tid = await trunk(lk)
    livekit_double.sip.script_call("+15551234", sip_status_code=486, delay=0.05)
    info = await lk.sip.create_sip_participant(
        dial(tid, wait=False)
    )  # no error: it is still ringing
    p = livekit_double.state.participants["call-1"][info.participant_identity]
    assert p.attributes["sip.callStatus"] == "dialing"
    # the busy signal arrives after the scripted delay
    assert await asyncio.to_thread(livekit_double.sip.dials[0].settled.wait, 2)
    assert livekit_double.sip.dials[0].outcome == "failed"
    assert livekit_double.state.participants["call-1"] == {}


async def test_dial_validation(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    with pytest.raises(api.TwirpError) as info:
        await lk.sip.create_sip_participant(dial("ST_nope"))
    assert info.value.code == "not_found"
    tid = await trunk(lk)
    for bad in (dial(tid, to=""), dial(tid, to="alice@example.com")):
        with pytest.raises(api.TwirpError) as info:
            await lk.sip.create_sip_participant(bad)
        assert info.value.code == "invalid_argument"
    no_room = dial(tid)
    no_room.room_name = ""
    with pytest.raises(api.TwirpError, match="missing room name"):
        await lk.sip.create_sip_participant(no_room)
    assert livekit_double.sip.dials == []


async def test_hidden_number_and_default_identity(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    tid = await trunk(lk)
    req = dial(tid, hide_phone_number=True)
    req.participant_identity = ""
    info = await lk.sip.create_sip_participant(req)
    assert info.participant_identity == "sip_+15551234"
    attrs = livekit_double.state.participants["call-1"]["sip_+15551234"].attributes
    assert "sip.phoneNumber" not in attrs and "sip.trunkPhoneNumber" not in attrs


# --- transfers ----------------------------------------------------------------------------


def transfer(to: str = "tel:+15559999", identity: str = "caller") -> TransferSIPParticipantRequest:
    return TransferSIPParticipantRequest(
        room_name="call-1", participant_identity=identity, transfer_to=to
    )


def seed_caller(d: LiveKitDouble) -> None:
    d.add_participant("call-1", "caller", kind="sip", attributes={"sip.callID": "SCL_seeded"})


async def test_transfer_success_removes_the_caller(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    seed_caller(livekit_double)
    out = await lk.sip.transfer_sip_participant(transfer())
    assert out.status == SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
    assert out.transfer_id.startswith("STR_")
    assert "caller" not in livekit_double.state.participants["call-1"]
    assert livekit_double.sip.transfers[0].request.transfer_to == "tel:+15559999"


@pytest.mark.parametrize("to", ["sip:desk@pbx.example", "<sip:desk@pbx.example>"])
async def test_transfer_refused(lk: api.LiveKitAPI, livekit_double: LiveKitDouble, to: str) -> None:
    seed_caller(livekit_double)
    livekit_double.sip.script_transfer(
        "sip:desk@pbx.example", sip_status_code=603, sip_status="Decline"
    )
    with pytest.raises(SipCallError) as info:
        await lk.sip.transfer_sip_participant(transfer(to))
    err = info.value
    assert (err.sip_status_code, err.sip_status, err.code) == (603, "Decline", "permission_denied")
    assert err.sip_transfer_reason == "STR_REJECTED"
    assert err.sip_transfer_id == livekit_double.sip.transfers[0].transfer_id
    assert "caller" in livekit_double.state.participants["call-1"]


async def test_transfer_not_completed_without_error(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    seed_caller(livekit_double)
    livekit_double.sip.script_transfer("tel:+15559999", status="STS_TRANSFER_ONGOING")
    out = await lk.sip.transfer_sip_participant(transfer())
    assert out.status == SIPTransferStatus.STS_TRANSFER_ONGOING
    assert "caller" in livekit_double.state.participants["call-1"]


async def test_transfer_ringing_timeout(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    seed_caller(livekit_double)
    livekit_double.sip.script_transfer("tel:+15559999", ringing_timeout=True)
    with pytest.raises(SipCallError) as info:
        await lk.sip.transfer_sip_participant(transfer())
    assert info.value.sip_transfer_reason == "STR_RINGING_TIMEOUT"
    assert info.value.sip_status_code is None


async def test_transfer_checks(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    with pytest.raises(api.TwirpError) as info:
        await lk.sip.transfer_sip_participant(transfer())
    assert info.value.code == "not_found"
    livekit_double.add_participant("call-1", "web-user")  # not a SIP participant
    with pytest.raises(api.TwirpError, match="no SIP session"):
        await lk.sip.transfer_sip_participant(transfer(identity="web-user"))
    seed_caller(livekit_double)
    with pytest.raises(api.TwirpError, match="valid SIP"):
        await lk.sip.transfer_sip_participant(transfer(to="+15559999"))
    assert livekit_double.sip.transfers == []


async def test_sip_not_connected() -> None:
    with LiveKitDouble(sip_connected=False) as d:
        async with d.client() as lk:
            with pytest.raises(api.TwirpError) as info:
                await trunk(lk)
    assert (info.value.code, info.value.status) == ("internal", 500)
