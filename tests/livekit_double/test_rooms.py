"""RoomService and AgentDispatchService through the real client."""

from __future__ import annotations

import pytest
from livekit import api
from livekit.protocol.agent_dispatch import CreateAgentDispatchRequest
from livekit.protocol.room import (
    CreateRoomRequest,
    DeleteRoomRequest,
    ListParticipantsRequest,
    ListRoomsRequest,
    MoveParticipantRequest,
    RoomParticipantIdentity,
    UpdateParticipantRequest,
)

from . import LiveKitDouble


async def test_room_lifecycle(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    room = await lk.room.create_room(CreateRoomRequest(name="r1", metadata="m"))
    assert room.sid.startswith("RM_") and room.metadata == "m"
    again = await lk.room.create_room(CreateRoomRequest(name="r1", metadata="other"))
    assert again.sid == room.sid and again.metadata == "m"  # existing room returned as is
    await lk.room.create_room(CreateRoomRequest(name="r2"))
    listed = await lk.room.list_rooms(ListRoomsRequest(names=["r2"]))
    assert [r.name for r in listed.rooms] == ["r2"]
    await lk.room.delete_room(DeleteRoomRequest(room="r1"))
    assert set(livekit_double.state.rooms) == {"r2"}
    with pytest.raises(api.TwirpError) as info:
        await lk.room.delete_room(DeleteRoomRequest(room="r1"))
    assert info.value.code == "not_found"


async def test_participants(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    livekit_double.add_participant("r", "alice", attributes={"a": "1", "b": "2"})
    got = await lk.room.get_participant(RoomParticipantIdentity(room="r", identity="alice"))
    assert got.identity == "alice"
    updated = await lk.room.update_participant(
        UpdateParticipantRequest(
            room="r", identity="alice", metadata="md", attributes={"a": "", "c": "3"}
        )
    )
    assert updated.metadata == "md" and dict(updated.attributes) == {"b": "2", "c": "3"}
    await lk.room.remove_participant(RoomParticipantIdentity(room="r", identity="alice"))
    listed = await lk.room.list_participants(ListParticipantsRequest(room="r"))
    assert list(listed.participants) == []
    for call in (
        lk.room.get_participant(RoomParticipantIdentity(room="r", identity="alice")),
        lk.room.remove_participant(RoomParticipantIdentity(room="r", identity="alice")),
    ):
        with pytest.raises(api.TwirpError) as info:
            await call
        assert info.value.code == "not_found"


async def test_move_participant(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    livekit_double.add_participant("a", "caller", kind="sip")
    await lk.room.move_participant(
        MoveParticipantRequest(room="a", identity="caller", destination_room="b")
    )
    assert "caller" not in livekit_double.state.participants["a"]
    assert "caller" in livekit_double.state.participants["b"]


async def test_move_unsupported() -> None:
    with LiveKitDouble(supports_move_participant=False) as d:
        d.add_participant("a", "caller")
        async with d.client() as lk:
            with pytest.raises(api.TwirpError) as info:
                await lk.room.move_participant(
                    MoveParticipantRequest(room="a", identity="caller", destination_room="b")
                )
        assert (info.value.code, info.value.status) == ("unimplemented", 501)
        assert "caller" in d.state.participants["a"]


async def test_agent_dispatch(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    d = await lk.agent_dispatch.create_dispatch(
        CreateAgentDispatchRequest(agent_name="receptionist", room="call-9", metadata='{"x":1}')
    )
    assert d.id.startswith("AD_") and d.agent_name == "receptionist"
    assert "call-9" in livekit_double.state.rooms  # created on demand
    assert livekit_double.state.dispatches[d.id].metadata == '{"x":1}'
    assert [x.id for x in await lk.agent_dispatch.list_dispatch("call-9")] == [d.id]
    assert (await lk.agent_dispatch.get_dispatch(d.id, "call-9")) == d
    assert await lk.agent_dispatch.get_dispatch("AD_nope", "call-9") is None
    deleted = await lk.agent_dispatch.delete_dispatch(d.id, "call-9")
    assert deleted.id == d.id and livekit_double.state.dispatches == {}
    with pytest.raises(api.TwirpError) as info:
        await lk.agent_dispatch.delete_dispatch(d.id, "call-9")
    assert info.value.code == "not_found"


async def test_dispatch_retry_is_idempotent(livekit_double: LiveKitDouble) -> None:
    """Dispatch ids derive from the request id, so a client retry does not dispatch twice."""
    livekit_double.faults.inject("CreateDispatch", code="unavailable")
    async with livekit_double.client(cloud=True) as lk:
        await lk.agent_dispatch.create_dispatch(
            CreateAgentDispatchRequest(agent_name="a", room="r")
        )
        await lk.agent_dispatch.create_dispatch(
            CreateAgentDispatchRequest(agent_name="a", room="r")
        )
    assert livekit_double.count("CreateDispatch") == 3
    assert len(livekit_double.state.dispatches) == 2  # the retried one counted once
