"""Transport details: routes, encodings, malformed bodies, and the regions endpoint."""

from __future__ import annotations

import aiohttp
from livekit import api
from livekit.protocol.sip import SIPInboundTrunkInfo

from . import LiveKitDouble
from .raw import admin_token, post


async def test_json_round_trip(livekit_double: LiveKitDouble) -> None:
    token = admin_token(livekit_double)
    reply = await post(
        livekit_double,
        "livekit.SIP/CreateSIPInboundTrunk",
        {"trunk": {"name": "json", "numbers": ["+15550001"], "authUsername": "u"}},
        token=token,
    )
    assert reply.status == 200 and reply.content_type.startswith("application/json")
    body = reply.json()
    # snake_case names and unpopulated fields, like twirp's Go server
    assert body["name"] == "json" and body["auth_username"] == "u" and body["metadata"] == ""
    stored = livekit_double.state.inbound_trunks[body["sip_trunk_id"]]
    assert isinstance(stored, SIPInboundTrunkInfo) and stored.auth_username == "u"
    assert livekit_double.calls[-1].content_type == "application/json"


async def test_json_error_body(livekit_double: LiveKitDouble) -> None:
    reply = await post(
        livekit_double,
        "livekit.SIP/DeleteSIPTrunk",
        {"sip_trunk_id": "ST_nope"},
        token=admin_token(livekit_double),
    )
    assert reply.status == 404
    assert reply.json() == {"code": "not_found", "msg": "requested sip trunk does not exist"}


async def test_unknown_routes_are_bad_route(livekit_double: LiveKitDouble) -> None:
    token = admin_token(livekit_double)
    for path in ("livekit.SIP/NoSuchMethod", "livekit.Nope/List", "other.SIP/ListSIPInboundTrunk"):
        reply = await post(livekit_double, path, {}, token=token)
        assert reply.status == 404, path
        assert reply.json()["code"] == "bad_route"


async def test_wrong_method_and_content_type(livekit_double: LiveKitDouble) -> None:
    token = admin_token(livekit_double)
    path = "livekit.SIP/ListSIPInboundTrunk"
    got = await post(livekit_double, path, {}, token=token, method="GET")
    assert (got.status, got.json()["code"]) == (404, "bad_route")
    text = await post(livekit_double, path, b"x", token=token, content_type="text/plain")
    assert (text.status, text.json()["code"]) == (404, "bad_route")


async def test_malformed_bodies(livekit_double: LiveKitDouble) -> None:
    token = admin_token(livekit_double)
    path = "livekit.SIP/ListSIPInboundTrunk"
    bad_json = await post(
        livekit_double, path, b"{not json", token=token, content_type="application/json"
    )
    assert (bad_json.status, bad_json.json()["code"]) == (400, "malformed")
    bad_pb = await post(livekit_double, path, b"\xff\xff\xff", token=token)
    assert (bad_pb.status, bad_pb.json()["code"]) == (400, "malformed")


async def test_unmodelled_method_is_unimplemented(livekit_double: LiveKitDouble) -> None:
    token = livekit_double.token(video=api.VideoGrants(room_admin=True, room="r"))
    reply = await post(
        livekit_double, "livekit.RoomService/MutePublishedTrack", {"room": "r"}, token=token
    )
    assert (reply.status, reply.json()["code"]) == (501, "unimplemented")


async def test_regions_is_404(livekit_double: LiveKitDouble) -> None:
    async with aiohttp.ClientSession() as s, s.get(f"{livekit_double.url}/settings/regions") as r:
        assert r.status == 404
    assert livekit_double.region_lookups == 1


def test_sync_use_with_asyncio_run(livekit_double: LiveKitDouble) -> None:
    """Sync code (a CLI calling asyncio.run) can use the double: it runs on its own loop."""
    import asyncio

    from livekit.protocol.sip import ListSIPInboundTrunkRequest

    async def go() -> int:
        async with api.LiveKitAPI() as lk:  # env vars from the fixture
            return len((await lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest())).items)

    assert asyncio.run(go()) == 0
    assert livekit_double.count("ListSIPInboundTrunk") == 1
