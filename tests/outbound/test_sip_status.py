"""The SIP-status table shared by reminder calls and transfers, and the campaign outcome."""

from __future__ import annotations

import aiohttp
import pytest
from livekit.api.twirp_client import SipCallError, TwirpError

from dialtone.campaigns.models import Outcome
from dialtone.outbound.dial import campaign_outcome
from dialtone.telephony.outcomes import TransferOutcome, outcome_for_sip_status
from dialtone.telephony.sip_status import DialFailure, SipClass, classify_dial_error


def sip_error(code: int, code_name: str = "resource_exhausted") -> SipCallError:
    return SipCallError(
        code_name,
        "sip status",
        status=429,
        metadata={"sip_status_code": str(code), "sip_status": "Reason"},
    )


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (486, SipClass.BUSY),
        (600, SipClass.BUSY),
        (480, SipClass.NO_ANSWER),
        (408, SipClass.NO_ANSWER),
        (487, SipClass.NO_ANSWER),
        (404, SipClass.INVALID_NUMBER),
        (484, SipClass.INVALID_NUMBER),
        (410, SipClass.INVALID_NUMBER),
        (604, SipClass.INVALID_NUMBER),
        (603, SipClass.DECLINED),
        (401, SipClass.TRUNK_AUTH),
        (403, SipClass.TRUNK_AUTH),
        (407, SipClass.TRUNK_AUTH),
        (488, SipClass.TRUNK_MEDIA),
        (500, SipClass.CARRIER),
        (503, SipClass.CARRIER),
        (415, SipClass.OTHER),
        (302, SipClass.OTHER),
    ],
)
def test_sip_codes(code: int, kind: SipClass) -> None:
    failure = classify_dial_error(sip_error(code))
    assert (failure.kind, failure.sip_status_code) == (kind, code)


def test_errors_without_sip_status() -> None:
    timeout = TwirpError("canceled", "sip request timed out", status=408)
    assert classify_dial_error(timeout).kind is SipClass.NO_ANSWER
    assert classify_dial_error(TimeoutError()).kind is SipClass.NO_ANSWER
    unknown_trunk = TwirpError("not_found", "trunk not found", status=404)
    assert classify_dial_error(unknown_trunk).kind is SipClass.LIVEKIT_CONFIG
    no_redis = TwirpError("internal", "sip not connected (redis required)", status=500)
    assert classify_dial_error(no_redis).kind is SipClass.LIVEKIT_CONFIG
    bad = TwirpError("invalid_argument", "bad number", status=400)
    assert classify_dial_error(bad).kind is SipClass.OTHER
    assert classify_dial_error(aiohttp.ClientError()).kind is SipClass.OTHER


def test_only_trunk_and_livekit_failures_pause() -> None:
    for kind in SipClass:
        if kind is SipClass.ANSWERED:
            continue
        reported = campaign_outcome(DialFailure(kind, 500, "x"), "ST_t")
        pauses = kind in (
            SipClass.TRUNK_AUTH,
            SipClass.TRUNK_MEDIA,
            SipClass.CARRIER,
            SipClass.LIVEKIT_CONFIG,
        )
        assert (reported.pause_reason is not None) == pauses, kind
        if pauses:
            assert reported.outcome is Outcome.FAILED
            assert "ST_t" in (reported.pause_reason or "")
            assert "resume" in (reported.pause_reason or "")


def test_transfers_keep_their_mapping() -> None:
    assert outcome_for_sip_status(486) is TransferOutcome.BUSY
    assert outcome_for_sip_status(480) is TransferOutcome.NO_ANSWER
    assert outcome_for_sip_status(607) is TransferOutcome.DECLINED
    # a transfer target's wrong number is configuration: a trunk failure, not "invalid"
    assert outcome_for_sip_status(404) is TransferOutcome.TRUNK_FAILURE
    assert outcome_for_sip_status(None) is TransferOutcome.TRUNK_FAILURE
