"""The double's routing model (media.py) against LiveKit's documented behaviour.

Each test names the documented rule it pins: who may subscribe to a publisher's tracks
(`setTrackSubscriptionPermissions`, `ParticipantTrackPermission`), that SIP
participants hear every audio track they may in their room, and that a key pressed on a
SIP leg is played to the room's other SIP legs (SIP "Handling DTMF").
"""

from __future__ import annotations

import pytest

from . import LiveKitDouble
from .media import ALL, SIP_TRACK, Grant


@pytest.fixture
def double(livekit_double: LiveKitDouble) -> LiveKitDouble:
    livekit_double.add_participant("call", "caller", kind="sip")
    livekit_double.add_participant("call", "agent", kind="agent")
    return livekit_double


def test_by_default_everyone_in_the_room_hears_a_track(double: LiveKitDouble) -> None:
    double.media.publish("call", "agent", "voice")
    assert double.media.hears("call", "caller") == {("agent", "voice")}


def test_nobody_hears_a_track_of_another_room(double: LiveKitDouble) -> None:
    double.add_participant("consult", "human", kind="sip")
    double.media.publish("call", "agent", "voice")
    assert double.media.hears("consult", "human") == set()
    assert not double.media.hears_anyone("call", "caller", "human")


def test_a_sip_participant_publishes_its_phone_audio_to_everyone_in_its_room(
    double: LiveKitDouble,
) -> None:
    # The SIP service sets no permissions: the moment a dialed human is in the caller's
    # room, the caller hears them. Only the publisher can restrict its own tracks.
    double.add_participant("call", "human", kind="sip")
    assert ("human", SIP_TRACK) in double.media.hears("call", "caller")
    assert ("caller", SIP_TRACK) in double.media.hears("call", "human")


def test_a_track_level_grant_admits_only_the_listed_participant(double: LiveKitDouble) -> None:
    double.add_participant("call", "human", kind="sip")
    brief = double.media.publish("call", "agent", "brief")
    double.media.set_permissions(
        "call",
        "agent",
        allow_all_participants=False,
        grants={"human": Grant(frozenset({brief}))},
    )
    assert ("agent", "brief") in double.media.hears("call", "human")
    assert ("agent", "brief") not in double.media.hears("call", "caller")  # left out: nothing


def test_a_track_published_after_a_track_level_grant_is_granted_to_nobody(
    double: LiveKitDouble,
) -> None:
    double.add_participant("call", "human", kind="sip")
    first = double.media.publish("call", "agent", "brief")
    double.media.set_permissions(
        "call", "agent", allow_all_participants=False, grants={"human": Grant(frozenset({first}))}
    )
    double.media.publish("call", "agent", "later")
    assert ("agent", "later") not in double.media.hears("call", "human")


def test_an_allow_all_grant_covers_later_tracks(double: LiveKitDouble) -> None:
    double.add_participant("call", "human", kind="sip")
    double.media.set_permissions(
        "call", "agent", allow_all_participants=False, grants={"human": Grant(ALL)}
    )
    double.media.publish("call", "agent", "later")
    assert ("agent", "later") in double.media.hears("call", "human")
    assert ("agent", "later") not in double.media.hears("call", "caller")


def test_a_key_is_played_to_the_other_sip_legs_of_the_same_room_only(
    double: LiveKitDouble,
) -> None:
    double.add_participant("call", "other-leg", kind="sip")
    double.add_participant("consult", "human", kind="sip")
    double.add_participant("consult", "consult-agent", kind="agent")
    double.media.press("consult", "human", "1")
    assert double.media.keys_played.get("caller", []) == []
    assert double.media.keys_played.get("other-leg", []) == []
    assert double.media.dtmf_events["consult-agent"] == [("human", "1")]
    double.media.press("call", "caller", "5")
    assert double.media.keys_played["other-leg"] == ["5"]  # same room: played
    assert "human" not in double.media.keys_played  # other room: never
    assert double.media.dtmf_events["agent"] == [("caller", "5")]


def test_a_participant_who_left_is_heard_by_nobody(double: LiveKitDouble) -> None:
    double.add_participant("call", "human", kind="sip")
    double.state.remove_participant("call", "human")
    assert not double.media.hears_anyone("call", "caller", "human")
