"""`livekit.RoomService` and `livekit.AgentDispatchService` handlers.

Rooms are plain records here (no media, no nodes). Agent dispatch ids are derived
from the request id, like the server's `DeterministicID`, so the double shows
whether a client retry would have dispatched an agent twice.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import Message
from livekit.protocol.agent_dispatch import (
    AgentDispatch,
    AgentDispatchState,
    CreateAgentDispatchRequest,
    DeleteAgentDispatchRequest,
    ListAgentDispatchRequest,
    ListAgentDispatchResponse,
)
from livekit.protocol.room import (
    CreateRoomRequest,
    DeleteRoomRequest,
    DeleteRoomResponse,
    ForwardParticipantRequest,
    ForwardParticipantResponse,
    ListParticipantsRequest,
    ListParticipantsResponse,
    ListRoomsRequest,
    ListRoomsResponse,
    MoveParticipantRequest,
    MoveParticipantResponse,
    RemoveParticipantResponse,
    RoomParticipantIdentity,
    SendDataRequest,
    SendDataResponse,
    UpdateParticipantRequest,
    UpdateRoomMetadataRequest,
)

from . import ids
from .context import HandlerContext, Routes
from .errors import TwirpError
from .state import now_ns

ROOM_NOT_FOUND = "requested room does not exist"
PARTICIPANT_NOT_FOUND = "participant does not exist"

_M = TypeVar("_M", bound=Message)


def _copy(msg: _M) -> _M:
    out = type(msg)()
    out.CopyFrom(msg)
    return out


# --- rooms --------------------------------------------------------------------


async def create_room(ctx: HandlerContext, req: CreateRoomRequest) -> Message:
    """Creating an existing room returns it unchanged, as the server does."""
    if not req.name:
        raise TwirpError("invalid_argument", "no room name")
    with ctx.state.lock:
        existed = req.name in ctx.state.rooms
        room = ctx.state.ensure_room(req.name)
        if not existed:
            if req.empty_timeout:
                room.empty_timeout = req.empty_timeout
            if req.departure_timeout:
                room.departure_timeout = req.departure_timeout
            room.max_participants = req.max_participants
            room.metadata = req.metadata
        return _copy(room)


async def list_rooms(ctx: HandlerContext, req: ListRoomsRequest) -> Message:
    with ctx.state.lock:
        rooms = [_copy(r) for n, r in ctx.state.rooms.items() if not req.names or n in req.names]
    return ListRoomsResponse(rooms=rooms)


async def delete_room(ctx: HandlerContext, req: DeleteRoomRequest) -> Message:
    with ctx.state.lock:
        if req.room not in ctx.state.rooms:
            raise TwirpError("not_found", ROOM_NOT_FOUND)
        ctx.state.delete_room(req.room)
    return DeleteRoomResponse()


async def update_room_metadata(ctx: HandlerContext, req: UpdateRoomMetadataRequest) -> Message:
    with ctx.state.lock:
        room = ctx.state.rooms.get(req.room)
        if room is None:
            raise TwirpError("not_found", ROOM_NOT_FOUND)
        room.metadata = req.metadata
        return _copy(room)


# --- participants -------------------------------------------------------------


async def list_participants(ctx: HandlerContext, req: ListParticipantsRequest) -> Message:
    with ctx.state.lock:
        people = [_copy(p) for p in ctx.state.participants.get(req.room, {}).values()]
    return ListParticipantsResponse(participants=people)


def _find(ctx: HandlerContext, room: str, identity: str) -> Message:
    p = ctx.state.participants.get(room, {}).get(identity)
    if p is None:
        raise TwirpError("not_found", PARTICIPANT_NOT_FOUND)
    return p


async def get_participant(ctx: HandlerContext, req: RoomParticipantIdentity) -> Message:
    with ctx.state.lock:
        return _copy(_find(ctx, req.room, req.identity))


async def remove_participant(ctx: HandlerContext, req: RoomParticipantIdentity) -> Message:
    with ctx.state.lock:
        _find(ctx, req.room, req.identity)
        ctx.state.remove_participant(req.room, req.identity)
    return RemoveParticipantResponse()


async def update_participant(ctx: HandlerContext, req: UpdateParticipantRequest) -> Message:
    """Empty metadata/name leave the field alone; an empty attribute value deletes the key."""
    with ctx.state.lock:
        p = ctx.state.participants.get(req.room, {}).get(req.identity)
        if p is None:
            raise TwirpError("not_found", PARTICIPANT_NOT_FOUND)
        if req.metadata:
            p.metadata = req.metadata
        if req.name:
            p.name = req.name
        for k, v in req.attributes.items():
            if v:
                p.attributes[k] = v
            else:
                p.attributes.pop(k, None)
        if req.HasField("permission"):
            p.permission.CopyFrom(req.permission)
        return _copy(p)


async def _relocate(
    ctx: HandlerContext,
    req: MoveParticipantRequest | ForwardParticipantRequest,
    *,
    keep_source: bool,
) -> None:
    room, identity, dest = req.room, req.identity, req.destination_room
    if not ctx.options.supports_move_participant:
        raise TwirpError("unimplemented", "not supported by this server")
    if room == dest:
        raise TwirpError("invalid_argument", "destination room cannot be the same as source room")
    with ctx.state.lock:
        p = ctx.state.participants.get(room, {}).get(identity)
        if p is None:
            raise TwirpError("not_found", PARTICIPANT_NOT_FOUND)
        if not keep_source:
            ctx.state.remove_participant(room, identity)
        ctx.state.ensure_room(dest)
        moved = _copy(p)
        ctx.state.participants[dest][identity] = moved
        ctx.state.rooms[dest].num_participants = len(ctx.state.participants[dest])


async def move_participant(ctx: HandlerContext, req: MoveParticipantRequest) -> Message:
    await _relocate(ctx, req, keep_source=False)
    return MoveParticipantResponse()


async def forward_participant(ctx: HandlerContext, req: ForwardParticipantRequest) -> Message:
    await _relocate(ctx, req, keep_source=True)
    return ForwardParticipantResponse()


async def send_data(ctx: HandlerContext, req: SendDataRequest) -> Message:
    """Accepted and dropped: the request itself is in ``double.calls``."""
    if req.nonce and len(req.nonce) != 16:
        raise TwirpError(
            "invalid_argument",
            f"nonce should be 16-bytes or not present, got: {len(req.nonce)} bytes",
        )
    return SendDataResponse()


ROOM_ROUTES: Routes = {
    "CreateRoom": (CreateRoomRequest, create_room),
    "ListRooms": (ListRoomsRequest, list_rooms),
    "DeleteRoom": (DeleteRoomRequest, delete_room),
    "UpdateRoomMetadata": (UpdateRoomMetadataRequest, update_room_metadata),
    "ListParticipants": (ListParticipantsRequest, list_participants),
    "GetParticipant": (RoomParticipantIdentity, get_participant),
    "RemoveParticipant": (RoomParticipantIdentity, remove_participant),
    "UpdateParticipant": (UpdateParticipantRequest, update_participant),
    "MoveParticipant": (MoveParticipantRequest, move_participant),
    "ForwardParticipant": (ForwardParticipantRequest, forward_participant),
    "SendData": (SendDataRequest, send_data),
}

#: RoomService methods that exist on the server but the double does not model.
ROOM_UNMODELLED = frozenset({"MutePublishedTrack", "UpdateSubscriptions", "PerformRpc"})


# --- agent dispatch -----------------------------------------------------------


async def create_dispatch(ctx: HandlerContext, req: CreateAgentDispatchRequest) -> Message:
    with ctx.state.lock:
        ctx.state.ensure_room(req.room)
        did = (
            ids.hashed_id(ids.AGENT_DISPATCH, ctx.request_id)
            if ctx.request_id
            else ids.new_id(ids.AGENT_DISPATCH)
        )
        existing = ctx.state.dispatches.get(did)
        if existing is not None:
            return _copy(existing)
        dispatch = AgentDispatch(
            id=did,
            agent_name=req.agent_name,
            room=req.room,
            metadata=req.metadata,
            restart_policy=req.restart_policy,
            deployment=req.deployment,
            attributes=dict(req.attributes),
            state=AgentDispatchState(created_at=now_ns()),
        )
        ctx.state.dispatches[did] = dispatch
        return _copy(dispatch)


async def list_dispatch(ctx: HandlerContext, req: ListAgentDispatchRequest) -> Message:
    with ctx.state.lock:
        found = [
            _copy(d)
            for d in ctx.state.dispatches.values()
            if d.room == req.room and (not req.dispatch_id or d.id == req.dispatch_id)
        ]
    return ListAgentDispatchResponse(agent_dispatches=found)


async def delete_dispatch(ctx: HandlerContext, req: DeleteAgentDispatchRequest) -> Message:
    with ctx.state.lock:
        d = ctx.state.dispatches.get(req.dispatch_id)
        if d is None or d.room != req.room:
            raise TwirpError("not_found", "dispatch not found")
        del ctx.state.dispatches[req.dispatch_id]
        out = _copy(d)
    out.state.deleted_at = now_ns()
    return out


DISPATCH_ROUTES: Routes = {
    "CreateDispatch": (CreateAgentDispatchRequest, create_dispatch),
    "ListDispatch": (ListAgentDispatchRequest, list_dispatch),
    "DeleteDispatch": (DeleteAgentDispatchRequest, delete_dispatch),
}
