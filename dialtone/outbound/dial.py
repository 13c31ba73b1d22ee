"""Dial the contact (`CreateSIPParticipant`, waiting for the answer) and say what happened.

`dial` returns None when the callee answered, else a `DialFailure`; `campaign_outcome`
turns a failure into the outcome reported to the campaign API, and into a pause
reason when every call on the trunk would fail the same way (both from the one table,
`telephony/sip_status.py`). The livekit-api client sends the request with
the ringing timeout plus a margin as its HTTP timeout; `asyncio.wait_for` bounds it
again in case the connection hangs (tests/livekit_double/README.md, "Client timeout").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from livekit.api.twirp_client import TwirpError
from livekit.protocol.sip import CreateSIPParticipantRequest, SIPParticipantInfo

from ..campaigns.models import Outcome
from ..telephony.sip_status import DialFailed, DialFailure, SipClass, classify_dial_error
from ..wire import CALLEE_IDENTITY

#: Seconds past the ringing timeout before we stop waiting for LiveKit ourselves.
LOCAL_MARGIN_S = 10.0


class SipDialApi(Protocol):
    """`livekit.api.SipService`'s dialing call."""

    async def create_sip_participant(
        self,
        create: CreateSIPParticipantRequest,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (the livekit-api signature)
    ) -> SIPParticipantInfo: ...


@dataclass(frozen=True)
class CallPlan:
    trunk: str
    call_to: str
    caller_id: str
    room: str
    ring_seconds: int
    max_call_seconds: int
    identity: str = CALLEE_IDENTITY
    name: str = ""


def dial_request(plan: CallPlan) -> CreateSIPParticipantRequest:
    request = CreateSIPParticipantRequest(
        sip_trunk_id=plan.trunk,
        sip_call_to=plan.call_to,
        sip_number=plan.caller_id,
        room_name=plan.room,
        participant_identity=plan.identity,
        participant_name=plan.name,
        wait_until_answered=True,
        play_dialtone=False,
        play_ringtone=False,
    )
    request.ringing_timeout.seconds = plan.ring_seconds
    request.max_call_duration.seconds = plan.max_call_seconds
    return request


async def dial(sip: SipDialApi, plan: CallPlan) -> DialFailure | None:
    """Place the call; None once the callee answered, else why it did not connect.

    A local timeout is reported as no answer; the caller of `dial` must then remove
    the room, in case the call connects after we stopped waiting.
    """
    request = dial_request(plan)
    try:
        await asyncio.wait_for(
            sip.create_sip_participant(request, timeout=plan.ring_seconds + 5.0),
            plan.ring_seconds + LOCAL_MARGIN_S,
        )
    except (TwirpError, TimeoutError, DialFailed) as exc:
        return classify_dial_error(exc)  # a recorder's DialFailed is classified already
    except aiohttp.ClientError as exc:
        # Whether LiveKit placed the call is unknown; the caller removes the room.
        return DialFailure(SipClass.OTHER, None, f"connection to LiveKit failed: {exc!r}")
    return None


@dataclass(frozen=True)
class ReportedOutcome:
    """What goes to the campaign API for one attempt."""

    outcome: Outcome
    detail: str
    pause_reason: str | None = None
    #: a person answered: True when no agent speech started within 2 s of the verdict
    #: (a measure beside the outcome, left out of comparisons)
    abandoned: bool | None = field(default=None, compare=False)


def campaign_outcome(failure: DialFailure, trunk: str) -> ReportedOutcome:
    """The campaign outcome of a failed dial, with a pause reason for trunk failures."""
    code = (
        f"SIP {failure.sip_status_code}" if failure.sip_status_code is not None else "no SIP status"
    )
    detail = f"{failure.kind.value} ({code}{': ' + failure.text if failure.text else ''})"
    meaning = failure.meaning
    if meaning.pause_hint is None:
        return ReportedOutcome(meaning.campaign, detail)
    return ReportedOutcome(
        meaning.campaign,
        detail,
        f"paused after {detail} on outbound trunk {trunk}: {meaning.pause_hint}; "
        "then resume the campaign",
    )
