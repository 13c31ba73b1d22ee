"""Who hears whom: the SFU's subscription rules and the SIP service's DTMF, as documented.

The double carries no audio. What it models is the routing a private transfer relies
on, from LiveKit's documentation (client SDK `setTrackSubscriptionPermissions` /
`ParticipantTrackPermission`, the SIP "Handling DTMF" page):

- A participant can be subscribed only to tracks published in *its own room*.
- A publisher decides who may subscribe to *its* tracks. By default everyone may
  (`allow_all_participants`). Otherwise only the listed participants may: `allow_all`
  grants all of that publisher's tracks, else only `allowed_track_sids`; a participant
  left out of the list gets nothing; and (documented) a track published *after* a
  track-level grant is granted to nobody until the permissions are sent again.
  Nobody can set permissions on another participant's tracks.
- A SIP participant subscribes to every audio track it is allowed to, and the SIP
  service mixes them onto the phone line: it hears every such track in its room.
- The SIP service publishes a SIP participant's audio with default permissions, so
  everyone in that room may subscribe at once.
- A key pressed on a SIP leg is a `sip_dtmf_received` event for the room's other
  participants, and the SIP service plays it onto every *other* SIP leg in the room.

Tests drive `publish` / `set_permissions` / `press` for the agent side (what
`rtc.LocalParticipant` would send) and read `hears` / `keys_played`. Every SIP
participant in a room (a dialed human, a caller) publishes its phone audio there, with
default permissions, for as long as it is in the room.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ids
from .state import DoubleState

ALL = None  # an allow-all grant in `Grant.tracks`
#: The name of the audio track the SIP service publishes for a SIP participant.
SIP_TRACK = "sip-audio"


@dataclass(frozen=True)
class Grant:
    """One participant's permission on a publisher's tracks: all (None) or these sids."""

    tracks: frozenset[str] | None


@dataclass
class _Publisher:
    tracks: dict[str, str] = field(default_factory=dict)  # sid -> name
    allow_all: bool = True
    grants: dict[str, Grant] = field(default_factory=dict)


@dataclass
class Media:
    """The double's model of track routing and DTMF, over its rooms and participants."""

    state: DoubleState
    _publishers: dict[tuple[str, str], _Publisher] = field(default_factory=dict)
    keys_played: dict[str, list[str]] = field(default_factory=dict)
    dtmf_events: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def _in_room(self, room: str, identity: str) -> bool:
        return identity in self.state.participants.get(room, {})

    def _is_sip(self, room: str, identity: str) -> bool:
        info = self.state.participants.get(room, {}).get(identity)
        return info is not None and info.kind == info.Kind.SIP

    def publish(self, room: str, identity: str, name: str = "audio") -> str:
        """`identity` publishes an audio track in `room`; returns its sid."""
        if not self._in_room(room, identity):
            raise LookupError(f"{identity!r} is not in room {room!r}")
        sid = ids.new_id("TR_")
        self._publishers.setdefault((room, identity), _Publisher()).tracks[sid] = name
        return sid

    def set_permissions(
        self,
        room: str,
        publisher: str,
        *,
        allow_all_participants: bool,
        grants: dict[str, Grant] | None = None,
    ) -> None:
        """`publisher`'s own `set_track_subscription_permissions` (the full list each time)."""
        entry = self._publishers.setdefault((room, publisher), _Publisher())
        entry.allow_all = allow_all_participants
        # A track-level grant names the sids that exist now; later tracks get nothing.
        entry.grants = dict(grants or {})

    def _allowed(self, entry: _Publisher, listener: str, sid: str) -> bool:
        if entry.allow_all:
            return True
        grant = entry.grants.get(listener)
        if grant is None:
            return False
        return grant.tracks is ALL or sid in grant.tracks

    def hears(self, room: str, listener: str) -> set[tuple[str, str]]:
        """(publisher, track name) pairs `listener` is subscribed to (SIP: all allowed)."""
        if not self._in_room(room, listener):
            return set()
        heard: set[tuple[str, str]] = {
            (other, SIP_TRACK)
            for other in self.state.participants.get(room, {})
            if other != listener and self._is_sip(room, other)
        }
        for (where, publisher), entry in self._publishers.items():
            if where != room or publisher == listener or not self._in_room(room, publisher):
                continue
            for sid, name in entry.tracks.items():
                if self._allowed(entry, listener, sid):
                    heard.add((publisher, name))
        return heard

    def hears_anyone(self, room: str, listener: str, speaker: str) -> bool:
        return any(publisher == speaker for publisher, _ in self.hears(room, listener))

    def press(self, room: str, identity: str, digit: str) -> None:
        """A key on `identity`'s SIP leg: an event for the room, a tone for its SIP legs."""
        if not self._in_room(room, identity):
            raise LookupError(f"{identity!r} is not in room {room!r}")
        for other in self.state.participants.get(room, {}):
            if other == identity:
                continue
            self.dtmf_events.setdefault(other, []).append((identity, digit))
            if self._is_sip(room, other):
                self.keys_played.setdefault(other, []).append(digit)

    def clear(self) -> None:
        self._publishers.clear()
        self.keys_played.clear()
        self.dtmf_events.clear()
