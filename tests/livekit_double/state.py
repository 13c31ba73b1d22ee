"""What the double remembers: trunks, rules, rooms, participants, dispatches.

Tests read these dicts directly to assert on the server's view after driving it
through the real client. Handlers run on the server thread and hold ``lock``
while they read-modify-write, so a test thread reading between calls sees a
consistent state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from livekit.protocol.agent_dispatch import AgentDispatch
from livekit.protocol.models import ParticipantInfo, Room
from livekit.protocol.sip import SIPDispatchRuleInfo, SIPInboundTrunkInfo, SIPOutboundTrunkInfo

from . import ids
from .auth import AuthStyle

ParticipantKind = Literal["standard", "sip", "agent"]

_KINDS: dict[str, ParticipantInfo.Kind] = {
    "standard": ParticipantInfo.Kind.STANDARD,
    "sip": ParticipantInfo.Kind.SIP,
    "agent": ParticipantInfo.Kind.AGENT,
}


@dataclass
class DoubleOptions:
    """Switches for the places where deployments (or the spec and the code) differ."""

    #: Answer List/Create/Update with an empty ``auth_password`` (LiveKit Cloud may;
    #: self-hosted returns it as stored). The stored value is always kept.
    redact_passwords: bool = False
    #: MoveParticipant/ForwardParticipant work; False answers ``unimplemented``.
    supports_move_participant: bool = True
    #: See auth.py.
    auth_errors: AuthStyle = "spec"
    #: DeleteSIPTrunk of an unknown id succeeds (livekit/livekit 788d4c3 does an
    #: HDEL without a lookup); False answers ``not_found`` as LiveKit's documentation says.
    delete_unknown_trunk_ok: bool = False
    #: Fill created_at/updated_at (self-hosted 788d4c3 leaves them unset).
    set_timestamps: bool = True
    #: On Update, check conflicts against *all* stored objects (LiveKit's API documentation).
    #: The server (788d4c3) only lists stored objects matching the *updated* one's
    #: numbers / trunk_ids, and swaps in the update only if its *stored* version is
    #: in that list — so an update that moves a trunk or rule entirely onto another
    #: one's number / trunk is not checked and is accepted. False mirrors that.
    full_conflict_check_on_update: bool = False
    #: False mimics a server without Redis: every SIP call fails with
    #: internal "sip not connected (redis required)".
    sip_connected: bool = True


def now_ns() -> int:
    return time.time_ns()


@dataclass
class DoubleState:
    """The server's stores. Keys are ids (trunks, rules, dispatches) or names (rooms)."""

    inbound_trunks: dict[str, SIPInboundTrunkInfo] = field(default_factory=dict)
    outbound_trunks: dict[str, SIPOutboundTrunkInfo] = field(default_factory=dict)
    dispatch_rules: dict[str, SIPDispatchRuleInfo] = field(default_factory=dict)
    rooms: dict[str, Room] = field(default_factory=dict)
    #: room name -> identity -> participant
    participants: dict[str, dict[str, ParticipantInfo]] = field(default_factory=dict)
    #: dispatch id -> dispatch (the dispatch carries its room)
    dispatches: dict[str, AgentDispatch] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def ensure_room(self, name: str) -> Room:
        """Return the room, creating it the way auto-create does."""
        with self.lock:
            room = self.rooms.get(name)
            if room is None:
                t = now_ns()
                room = Room(
                    sid=ids.new_id(ids.ROOM),
                    name=name,
                    empty_timeout=300,
                    departure_timeout=20,
                    creation_time=t // 1_000_000_000,
                    creation_time_ms=t // 1_000_000,
                )
                self.rooms[name] = room
                self.participants.setdefault(name, {})
            return room

    def add_participant(
        self,
        room: str,
        identity: str,
        *,
        name: str = "",
        metadata: str = "",
        attributes: dict[str, str] | None = None,
        kind: ParticipantKind = "standard",
    ) -> ParticipantInfo:
        """Put a participant in a room (creating the room), replacing one with the same identity."""
        with self.lock:
            self.ensure_room(room)
            p = ParticipantInfo(
                sid=ids.new_id(ids.PARTICIPANT),
                identity=identity,
                name=name,
                metadata=metadata,
                attributes=attributes or {},
                state=ParticipantInfo.State.ACTIVE,
                kind=_KINDS[kind],
                joined_at=now_ns() // 1_000_000_000,
                joined_at_ms=now_ns() // 1_000_000,
            )
            self.participants.setdefault(room, {})[identity] = p
            self._count(room)
            return p

    def remove_participant(self, room: str, identity: str) -> ParticipantInfo | None:
        with self.lock:
            p = self.participants.get(room, {}).pop(identity, None)
            if room in self.rooms:
                self._count(room)
            return p

    def delete_room(self, name: str) -> None:
        """Drop a room with its participants and agent dispatches."""
        with self.lock:
            self.rooms.pop(name, None)
            self.participants.pop(name, None)
            for did in [d for d, v in self.dispatches.items() if v.room == name]:
                del self.dispatches[did]

    def _count(self, room: str) -> None:
        self.rooms[room].num_participants = len(self.participants.get(room, {}))

    def clear(self) -> None:
        with self.lock:
            self.inbound_trunks.clear()
            self.outbound_trunks.clear()
            self.dispatch_rules.clear()
            self.rooms.clear()
            self.participants.clear()
            self.dispatches.clear()
