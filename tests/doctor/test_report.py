"""The audio verdict, the SIP explanation table, and the text and JSON renderings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from livekit.api.twirp_client import SipCallError

from dialtone.doctor.audio import SPEECH_FRAMES, AudioObservation, judge_audio, rms, tone_samples
from dialtone.doctor.render import render_text
from dialtone.doctor.result import UNPROVEN, Report, Severity, Status, failed, passed, skipped
from dialtone.telephony.sip_advice import ADVICE, explain, explain_code
from dialtone.telephony.sip_status import (
    TABLE,
    SipClass,
    classify_dial_error,
    classify_sip_status,
)

from .conftest import cli


@pytest.mark.parametrize(
    ("seen", "status", "phrase"),
    [
        (AudioObservation(error="ConnectionError: refused"), Status.FAIL, "could not join"),
        (AudioObservation(callee_track=True, frames=500, dtmf=("5",)), Status.PASS, "'5'"),
        (
            AudioObservation(callee_track=True, frames=500, loud_frames_after_tone=SPEECH_FRAMES),
            Status.PASS,
            "spoke",
        ),
        (
            AudioObservation(
                callee_track=True, frames=500, loud_frames_after_tone=SPEECH_FRAMES - 1
            ),
            Status.FAIL,
            "stayed silent",
        ),
        (AudioObservation(), Status.FAIL, "no audio at all"),
        (AudioObservation(callee_track=True, frames=0), Status.FAIL, "no audio at all"),
    ],
)
def test_audio_verdict(seen: AudioObservation, status: Status, phrase: str) -> None:
    check = judge_audio(seen)
    assert check.status is status
    assert phrase in check.detail
    assert "has not met a real deployment" in check.detail
    if status is Status.FAIL:
        assert check.fix


def test_no_media_points_at_rtp_and_the_public_ip() -> None:
    check = judge_audio(AudioObservation(callee_track=True))
    assert "RTP" in check.fix and "public IP" in check.fix


def test_tone_is_loud_and_silence_is_not() -> None:
    assert rms(tone_samples(0.01)) > 10_000
    assert rms([0] * 480) == 0.0
    assert rms([]) == 0.0


def test_every_sip_class_has_advice() -> None:
    assert set(ADVICE) == set(SipClass)


def test_advice_codes_sit_in_their_class_of_the_status_table() -> None:
    for kind, advice in ADVICE.items():
        for code in advice.by_code:
            assert classify_sip_status(code) is kind, code
            assert str(code) in advice.by_code[code]


def test_codes_the_issue_names_have_their_own_sentence() -> None:
    for code in (401, 403, 404, 407, 408, 480, 484, 486, 488, 503, 603):
        kind = classify_sip_status(code)
        assert explain_code(code) != ADVICE[SipClass.OTHER].default
        if code not in ADVICE[kind].by_code:  # then the class's sentence names it
            assert kind in (SipClass.BUSY, SipClass.TRUNK_MEDIA)


def test_explain_reads_the_sip_status_not_the_twirp_code() -> None:
    exc = SipCallError("permission_denied", "x", status=403, metadata={"sip_status_code": "403"})
    assert "allow-list" in explain(classify_dial_error(exc))


def test_status_table_is_unchanged() -> None:
    # The advice lives beside the table; the table's behaviour must not move.
    assert classify_sip_status(403) is SipClass.TRUNK_AUTH
    assert classify_sip_status(488) is SipClass.TRUNK_MEDIA
    assert classify_sip_status(484) is SipClass.INVALID_NUMBER
    assert len(TABLE) == len(SipClass)


def test_text_rendering() -> None:
    report = Report(target="wss://lk.example")
    report.add(passed("LiveKit", "reachable", "ok", seconds=0.012))
    report.add(failed("Providers", "OpenAI", "slow", "go closer", severity=Severity.WARNING))
    report.add(skipped("Providers", "Deepgram", "offline"))
    text = render_text(report)
    assert "dialtone doctor: LiveKit at wss://lk.example" in text
    assert "PASS  reachable  ok (12 ms)" in text
    assert "FAIL  OpenAI     slow [warning]\n        fix: go closer" in text
    assert "SKIP  Deepgram   offline" in text
    assert "1 passed, 1 failed, 1 skipped" in text
    assert text.endswith(UNPROVEN)
    assert not report.ok


def test_json_on_a_settings_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIVEKIT_URL", "ftp://nope")
    result = cli("--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    assert "LIVEKIT_URL" in data["error"]
