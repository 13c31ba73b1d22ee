"""Tokens and grants: 401 for a token the server would not accept, 403 for a missing grant."""

from __future__ import annotations

import datetime

import pytest
from livekit import api
from livekit.protocol.room import ListRoomsRequest
from livekit.protocol.sip import ListSIPInboundTrunkRequest

from . import LiveKitDouble
from .raw import post

LIST_TRUNKS = "livekit.SIP/ListSIPInboundTrunk"
ADMIN = api.SIPGrants(admin=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda d: d.token(sip=ADMIN, secret="another-secret-that-is-long-enough!!"),
        lambda d: d.token(sip=ADMIN, key="not-the-key"),
        lambda d: d.token(sip=ADMIN, ttl=datetime.timedelta(minutes=-5)),
        lambda d: "not.a.jwt",
    ],
    ids=["bad-signature", "unknown-key", "expired", "garbage"],
)
async def test_bad_token_is_401(livekit_double: LiveKitDouble, make: object) -> None:
    token = make(livekit_double)  # type: ignore[operator]
    reply = await post(livekit_double, LIST_TRUNKS, ListSIPInboundTrunkRequest(), token=token)
    assert reply.status == 401
    assert reply.json()["code"] == "unauthenticated"
    assert livekit_double.calls[-1].status == 401


async def test_missing_token_is_401(livekit_double: LiveKitDouble) -> None:
    reply = await post(livekit_double, LIST_TRUNKS, ListSIPInboundTrunkRequest())
    assert reply.status == 401 and reply.json()["code"] == "unauthenticated"


async def test_good_token_passes(livekit_double: LiveKitDouble) -> None:
    reply = await post(
        livekit_double,
        LIST_TRUNKS,
        ListSIPInboundTrunkRequest(),
        token=livekit_double.token(sip=ADMIN),
    )
    assert reply.status == 200


@pytest.mark.parametrize(
    ("path", "body", "grants"),
    [
        # trunk management needs sip.admin; sip.call is not enough
        (LIST_TRUNKS, ListSIPInboundTrunkRequest(), {"sip": api.SIPGrants(call=True)}),
        # dialing needs sip.call
        ("livekit.SIP/CreateSIPParticipant", {"sip_trunk_id": "ST_x"}, {"sip": ADMIN}),
        # transfer needs roomAdmin on *that* room as well as sip.call
        (
            "livekit.SIP/TransferSIPParticipant",
            {"room_name": "r1", "participant_identity": "p"},
            {"sip": api.SIPGrants(call=True), "video": api.VideoGrants(room_admin=True, room="r2")},
        ),
        (
            "livekit.AgentDispatchService/CreateDispatch",
            {"room": "r1"},
            {"video": api.VideoGrants(room_admin=True)},
        ),
        (
            "livekit.RoomService/ListRooms",
            ListRoomsRequest(),
            {"video": api.VideoGrants(room_create=True)},
        ),
        (
            "livekit.RoomService/CreateRoom",
            {"name": "r"},
            {"video": api.VideoGrants(room_list=True)},
        ),
        (
            "livekit.RoomService/MoveParticipant",
            {"room": "a", "identity": "p", "destination_room": "b"},
            {"video": api.VideoGrants(room_admin=True, room="a")},
        ),
    ],
)
async def test_missing_grant_is_403(
    livekit_double: LiveKitDouble, path: str, body: object, grants: dict[str, object]
) -> None:
    token = livekit_double.token(**grants)  # type: ignore[arg-type]
    reply = await post(livekit_double, path, body, token=token)  # type: ignore[arg-type]
    assert reply.status == 403, reply.body
    assert reply.json()["code"] == "permission_denied"


async def test_real_client_with_wrong_secret() -> None:
    with LiveKitDouble() as d:
        lk = api.LiveKitAPI(d.url, d.api_key, "wrong-secret-but-long-enough-for-hs256!!")
        try:
            with pytest.raises(api.TwirpError) as info:
                await lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest())
        finally:
            await lk.aclose()
    assert info.value.status == 401 and info.value.code == "unauthenticated"


async def test_livekit_server_auth_style() -> None:
    """The real server: plain-text 401 for a bad token, 401 unauthenticated for a missing grant."""
    with LiveKitDouble(auth_errors="livekit-server") as d:
        bad = await post(
            d, LIST_TRUNKS, ListSIPInboundTrunkRequest(), token=d.token(sip=ADMIN, key="other")
        )
        assert bad.status == 401 and bad.content_type.startswith("text/plain")
        lk = api.LiveKitAPI(d.url, d.api_key, "wrong-secret-but-long-enough-for-hs256!!")
        try:
            with pytest.raises(api.TwirpError) as info:
                await lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest())
        finally:
            await lk.aclose()
        assert (info.value.status, info.value.code) == (401, "unknown")
        denied = await post(
            d,
            LIST_TRUNKS,
            ListSIPInboundTrunkRequest(),
            token=d.token(sip=api.SIPGrants(call=True)),
        )
        assert denied.status == 401
        assert denied.json() == {"code": "unauthenticated", "msg": "permissions denied"}
