"""`--call`: the dial's outcome explained, the room removed, the audio verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialtone.doctor.audio import AudioObservation
from dialtone.doctor.call import CallOptions
from dialtone.doctor.result import Status
from dialtone.doctor.runner import DoctorOptions
from dialtone.telephony.sip_advice import explain_code
from tests.livekit_double import LiveKitDouble

from .conftest import Doctor, by_name, cli

NUMBER = "+15550142000"

#: Each status and a phrase its sentence must contain: what an operator checks.
STATUSES = [
    (401, "Unauthorized", "password"),
    (403, "Forbidden", "allow-list"),
    (404, "Not Found", "E.164"),
    (408, "Request Timeout", "transport"),
    (480, "Temporarily Unavailable", "phone is off"),
    (484, "Address Incomplete", "E.164"),
    (486, "Busy Here", "trunk works"),
    (488, "Not Acceptable Here", "media_encryption"),
    (503, "Service Unavailable", "carrier's status"),
    (603, "Decline", "spam filter"),
]


class FakeProbe:
    """Stands in for the room's media, which the double does not have."""

    def __init__(self, seen: AudioObservation) -> None:
        self.seen = seen
        self.rooms: list[str] = []

    async def observe(
        self, *, room: str, callee: str, tone_seconds: float, listen_seconds: float
    ) -> AudioObservation:
        self.rooms.append(room)
        return self.seen


def _no_rooms_left(double: LiveKitDouble) -> bool:
    return not any(name.startswith("dialtone-doctor-") for name in double.state.rooms)


@pytest.mark.parametrize(("code", "reason", "phrase"), STATUSES)
def test_each_sip_failure_is_explained(
    healthy: LiveKitDouble, code: int, reason: str, phrase: str
) -> None:
    healthy.sip.script_call(NUMBER, sip_status_code=code, sip_status=reason)
    result = cli("--call", NUMBER, "--no-audio")
    assert result.exit_code == 1, result.output
    assert "FAIL  dial" in result.output
    assert f"SIP {code} {reason}" in result.output
    assert f"fix: {explain_code(code)}" in result.output
    assert phrase in explain_code(code)
    assert "SKIP  audio both ways" in result.output
    assert len(healthy.sip.dials) == 1
    assert _no_rooms_left(healthy)


def test_ringing_timeout_says_nobody_answered(healthy: LiveKitDouble) -> None:
    healthy.sip.script_call(NUMBER, ringing_timeout=True)
    result = cli("--call", NUMBER, "--no-audio", "--ring", "5")
    assert result.exit_code == 1
    assert "Nobody answered before the ringing timeout" in result.output


def test_answered_call_reports_the_delay_and_cleans_up(
    healthy: LiveKitDouble, doctor: Doctor
) -> None:
    healthy.sip.script_call(NUMBER, delay=0.3)
    probe = FakeProbe(AudioObservation(callee_track=True, frames=600, dtmf=("1",)))
    report = doctor(DoctorOptions(call=CallOptions(NUMBER)), probe=probe)
    checks = by_name(report)
    dial = checks["dial"]
    assert dial.status is Status.PASS
    assert dial.seconds is not None and dial.seconds >= 0.3
    assert "answered after" in dial.detail
    assert checks["outbound trunk"].detail.startswith("'carrier-outbound'")
    assert checks["audio both ways"].status is Status.PASS
    assert "not met a real deployment" in checks["audio both ways"].detail
    assert report.ok
    (dialed,) = healthy.sip.dials
    assert dialed.request.sip_call_to == NUMBER
    assert dialed.request.wait_until_answered
    assert probe.rooms == [dialed.request.room_name]
    assert _no_rooms_left(healthy)


def test_one_way_audio_fails_the_run(healthy: LiveKitDouble, doctor: Doctor) -> None:
    probe = FakeProbe(AudioObservation(callee_track=True, frames=600))
    report = doctor(DoctorOptions(call=CallOptions(NUMBER)), probe=probe)
    check = by_name(report)["audio both ways"]
    assert check.status is Status.FAIL
    assert "one-way audio" in check.fix
    assert not report.ok


def test_unknown_trunk_lists_the_known(healthy: LiveKitDouble) -> None:
    result = cli("--call", NUMBER, "--trunk", "nope", "--no-audio")
    assert result.exit_code == 1
    assert "no outbound trunk named 'nope'" in result.output
    assert "'carrier-outbound'" in result.output
    assert healthy.sip.dials == []


def test_trunk_by_id(healthy: LiveKitDouble) -> None:
    trunk_id = next(iter(healthy.state.outbound_trunks))
    result = cli("--call", NUMBER, "--trunk", trunk_id, "--no-audio")
    assert result.exit_code == 0, result.output
    assert healthy.sip.dials[0].request.sip_trunk_id == trunk_id


def test_sip_call_refused_by_livekit_names_the_key(healthy: LiveKitDouble) -> None:
    # The grant probe passes; the real dial is refused (e.g. the key was rotated).
    healthy.faults.inject("CreateSIPParticipant", nth=2, code="unauthenticated")
    result = cli("--call", NUMBER, "--no-audio", "--json")
    report = json.loads(result.output)
    dial = next(c for c in report["checks"] if c["name"] == "dial")
    assert dial["status"] == "fail"
    assert "LIVEKIT_API_KEY/SECRET" in dial["fix"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--call", "555-0100"], "--call: '555-0100' is not an E.164 number"),
        (["--trunk", "carrier-outbound"], "--trunk only applies to a test call"),
    ],
)
def test_bad_options_are_one_line(deployment: Path, args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
