"""Access-token checks: who may call which method.

The real client signs a fresh HS256 JWT per call with exactly the grants that
method needs (`livekit/api/_service.py`), so a double that skipped this would
never catch a caller using the wrong credentials or a hand-made token.

Two answer styles, because LiveKit's documentation and the server code disagree:

* ``"spec"`` (default, LiveKit's API documentation): bad/missing token -> 401
  ``unauthenticated``; missing grant -> 403 ``permission_denied``.
* ``"livekit-server"`` (livekit/livekit 788d4c3 `pkg/service/auth.go`): a token
  that fails to parse/verify -> 401 with a *plain-text* body (the Python client
  then reports code ``"unknown"``); a missing token or a missing grant -> Twirp
  ``unauthenticated`` (401) "permissions denied" (`twirpAuthError`).

Callers should treat 401 and 403 alike as "credentials wrong".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import jwt
from google.protobuf.message import Message

from .errors import TwirpError

AuthStyle = Literal["spec", "livekit-server"]

#: Leeway on exp/nbf, like the server's JWT library (one minute).
LEEWAY_SECONDS = 60


class PlainHTTPError(Exception):
    """A non-Twirp error response (the server's auth middleware writes plain text)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(frozen=True)
class Grants:
    """The grants the double cares about, read from the token's claims."""

    room_create: bool = False
    room_list: bool = False
    room_admin: bool = False
    room: str = ""
    destination_room: str = ""
    sip_admin: bool = False
    sip_call: bool = False
    identity: str = ""

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Grants:
        video = claims.get("video") or {}
        sip = claims.get("sip") or {}
        return cls(
            room_create=bool(video.get("roomCreate")),
            room_list=bool(video.get("roomList")),
            room_admin=bool(video.get("roomAdmin")),
            room=str(video.get("room") or ""),
            destination_room=str(video.get("destinationRoom") or ""),
            sip_admin=bool(sip.get("admin")),
            sip_call=bool(sip.get("call")),
            identity=str(claims.get("sub") or ""),
        )


def authenticate(
    authorization: str | None, api_key: str, api_secret: str, style: AuthStyle
) -> Grants | None:
    """Verify the bearer token; return its grants (None = no token, livekit-server style).

    Raises TwirpError / PlainHTTPError for a token the server would refuse.
    """
    if not authorization:
        if style == "spec":
            raise TwirpError("unauthenticated", "missing authorization header")
        return None
    if not authorization.startswith("Bearer "):
        _refuse(style, "invalid authorization header. Must start with Bearer ")
    token = authorization[len("Bearer ") :]
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        _refuse(style, "invalid authorization token")
    if unverified.get("iss") != api_key:
        _refuse(style, "invalid API key")
    try:
        claims = jwt.decode(
            token,
            key=api_secret,
            algorithms=["HS256"],
            issuer=api_key,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError as e:
        _refuse(style, f"invalid authorization token: {e}")
    return Grants.from_claims(claims)


def _refuse(style: AuthStyle, text: str) -> None:
    if style == "spec":
        raise TwirpError("unauthenticated", text)
    raise PlainHTTPError(401, text)


def _denied(style: AuthStyle) -> TwirpError:
    if style == "spec":
        return TwirpError("permission_denied", "permissions denied")
    return TwirpError("unauthenticated", "permissions denied")


SIP_ADMIN_METHODS = frozenset(
    {
        "CreateSIPTrunk",
        "ListSIPTrunk",
        "CreateSIPInboundTrunk",
        "CreateSIPOutboundTrunk",
        "UpdateSIPInboundTrunk",
        "UpdateSIPOutboundTrunk",
        "GetSIPInboundTrunk",
        "GetSIPOutboundTrunk",
        "ListSIPInboundTrunk",
        "ListSIPOutboundTrunk",
        "DeleteSIPTrunk",
        "CreateSIPDispatchRule",
        "UpdateSIPDispatchRule",
        "ListSIPDispatchRule",
        "DeleteSIPDispatchRule",
    }
)


def _allowed(service: str, method: str, request: Message, g: Grants) -> bool:
    """Whether grants ``g`` allow ``service.method`` on ``request`` (LiveKit's API docs)."""
    room = str(getattr(request, "room", "") or getattr(request, "room_name", ""))

    def admin_of_room() -> bool:
        return g.room_admin and g.room == room

    if service == "SIP":
        if method in SIP_ADMIN_METHODS:
            return g.sip_admin
        if method == "CreateSIPParticipant":
            return g.sip_call
        if method == "TransferSIPParticipant":
            return g.sip_call and admin_of_room()
        return g.sip_admin
    if service == "AgentDispatchService":
        return admin_of_room()
    if service == "RoomService":
        if method in ("CreateRoom", "DeleteRoom"):
            return g.room_create
        if method == "ListRooms":
            return g.room_list
        if method in ("MoveParticipant", "ForwardParticipant"):
            dest = str(getattr(request, "destination_room", ""))
            return admin_of_room() and g.destination_room == dest
        return admin_of_room()
    return False


def authorize(
    service: str, method: str, request: Message, grants: Grants | None, style: AuthStyle
) -> None:
    """Raise the server's error if the token lacks the grant ``method`` needs."""
    if grants is None or not _allowed(service, method, request, grants):
        raise _denied(style)
