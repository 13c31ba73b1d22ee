"""One SIP table: every consumer of a failed dial reads the same meaning from it."""

from __future__ import annotations

import pytest
from livekit.api.twirp_client import SipCallError

from dialtone.campaigns.models import Outcome
from dialtone.outbound.dial import CallPlan, campaign_outcome, dial
from dialtone.records.models import CallOutcome, Direction
from dialtone.records.recorder import CallRecorder
from dialtone.records.store import CallStart
from dialtone.telephony.outcomes import TransferOutcome, outcome_for_error, outcome_for_sip_status
from dialtone.telephony.sip_status import RECORD_OUTCOME, TABLE, DialFailed, classify_dial_error

T = TransferOutcome
TRUNK = (Outcome.FAILED, T.TRUNK_FAILURE, CallOutcome.FAILED)


def sip_error(code: int) -> SipCallError:
    return SipCallError(
        "resource_exhausted",
        "sip status",
        status=429,
        metadata={"sip_status_code": str(code), "sip_status": "Reason"},
    )


# code -> (campaign outcome, transfer outcome, call-record outcome, campaign pauses)
EXPECTED: dict[int, tuple[Outcome, TransferOutcome, CallOutcome, bool]] = {
    **dict.fromkeys((486, 600), (Outcome.BUSY, T.BUSY, CallOutcome.BUSY, False)),
    **dict.fromkeys(
        (480, 408, 487), (Outcome.NO_ANSWER, T.NO_ANSWER, CallOutcome.NO_ANSWER, False)
    ),
    **dict.fromkeys(
        (404, 484, 410, 604),
        (Outcome.INVALID_NUMBER, T.TRUNK_FAILURE, CallOutcome.INVALID_NUMBER, False),
    ),
    603: (Outcome.DECLINED, T.DECLINED, CallOutcome.DECLINED, False),
    **dict.fromkeys((401, 403, 407, 488, 606, 500, 502, 503, 599), (*TRUNK, True)),
    **dict.fromkeys((302, 415), (*TRUNK, False)),
}


class _Sip:
    def __init__(self, code: int) -> None:
        self.code = code

    async def create_sip_participant(self, _request: object) -> object:
        raise sip_error(self.code)


@pytest.mark.parametrize("code", sorted(EXPECTED))
async def test_every_consumer_agrees_on_a_sip_status(code: int) -> None:
    campaign, transfer, record, pauses = EXPECTED[code]
    failure = classify_dial_error(sip_error(code))
    reported = campaign_outcome(failure, "ST_t")
    assert (reported.outcome, reported.pause_reason is not None) == (campaign, pauses)
    assert outcome_for_sip_status(code) is transfer
    assert outcome_for_error(sip_error(code))[0] is transfer
    recorder = CallRecorder(None, CallStart(Direction.OUTBOUND, room="dt-attempt-a1"))
    assert recorder.dial_failed(failure) is record
    assert RECORD_OUTCOME[campaign] is record  # what a reported outcome records


async def test_a_recorded_dial_is_classified_once_and_passed_along() -> None:
    recorder = CallRecorder(None, CallStart(Direction.OUTBOUND, room="dt-attempt-a1"))

    raised: list[DialFailed] = []

    class Recorded:
        async def create_sip_participant(self, request: object, **_options: object) -> object:
            try:
                return await recorder.dial(_Sip(486).create_sip_participant(request))
            except DialFailed as exc:
                raised.append(exc)
                raise

    plan = CallPlan("ST_t", "+15550200001", "+15550100100", "dt-attempt-a1", 20, 600)
    failure = await dial(Recorded(), plan)  # type: ignore[arg-type]
    assert failure is not None and failure is raised[0].failure  # not classified again
    assert isinstance(raised[0].__cause__, SipCallError)
    assert failure.sip_status_code == 486


def test_each_code_is_in_one_row() -> None:
    seen: dict[int, str] = {}
    for row in TABLE:
        for code in row.codes:
            assert code not in seen, f"{code} in {seen[code]} and {row.kind}"
            seen[code] = row.kind
