"""How a transfer ended, as a type, with the SIP status that caused it.

livekit-agents' own WarmTransferTask reports a failed human leg as an error string
(livekit/agents issue 7200), so an operator cannot tell "the human declined" (normal)
from "the trunk is broken" (an incident). Every dialtone transfer ends in exactly one
`TransferOutcome`, decided from the SIP status code LiveKit returns (LIVEKIT_API.md §5:
decide from `sip_status_code`, never from the Twirp code), and is logged and counted.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from livekit.api.twirp_client import SipCallError, TwirpError

logger = logging.getLogger("dialtone.transfer")


class TransferOutcome(StrEnum):
    """The one way a transfer ended."""

    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    DECLINED = "declined"
    VOICEMAIL = "voicemail"
    TRUNK_FAILURE = "trunk_failure"
    DROPPED_AFTER_CONNECT = "dropped_after_connect"
    REFER_REFUSED = "refer_refused"
    AFTER_HOURS = "after_hours"

    @property
    def is_incident(self) -> bool:
        """True when an operator should look: the network or configuration failed."""
        return self in (
            TransferOutcome.TRUNK_FAILURE,
            TransferOutcome.DROPPED_AFTER_CONNECT,
            TransferOutcome.REFER_REFUSED,
        )


@dataclass(frozen=True)
class TransferResult:
    """A finished transfer attempt: outcome, SIP status (if any) and a short detail."""

    outcome: TransferOutcome
    target: str
    kind: str
    sip_status_code: int | None = None
    sip_status: str = ""
    detail: str = ""
    mechanism: str = ""


# SIP final responses (RFC 3261 §21) grouped by what they mean to a caller on hold.
_NO_ANSWER = {408, 480, 487}
_BUSY = {486, 600}
_DECLINED = {603, 607, 608}


def outcome_for_sip_status(code: int | None) -> TransferOutcome:
    """The outcome a final SIP status on the human's leg means.

    No answer: 408 request timeout, 480 temporarily unavailable, 487 terminated (our own
    cancel after ringing). Busy: 486, 600. Declined: 603, 607, 608. Any other failure
    (404 unknown number, 403 trunk refused us, 5xx carrier error, no status at all) is a
    trunk failure: something an operator must fix.
    """
    if code is None:
        return TransferOutcome.TRUNK_FAILURE
    if code in _NO_ANSWER:
        return TransferOutcome.NO_ANSWER
    if code in _BUSY:
        return TransferOutcome.BUSY
    if code in _DECLINED:
        return TransferOutcome.DECLINED
    return TransferOutcome.TRUNK_FAILURE


def outcome_for_error(exc: BaseException) -> tuple[TransferOutcome, int | None, str]:
    """Map an exception from a dialing call to (outcome, sip code, sip reason text).

    `SipCallError` carries the far end's status. A ringing timeout reaches the client as a
    plain Twirp error without SIP meta (livekit/sip answers "sip request timed out" with
    twirp `canceled`/`deadline_exceeded`), which means nobody answered. A local
    `TimeoutError` (our own bound on the call) is also no answer.
    """
    if isinstance(exc, SipCallError) and exc.sip_status_code is not None:
        code = exc.sip_status_code
        return outcome_for_sip_status(code), code, exc.sip_status or ""
    if isinstance(exc, TwirpError) and exc.code in ("canceled", "deadline_exceeded"):
        return TransferOutcome.NO_ANSWER, None, exc.message
    if isinstance(exc, TimeoutError):
        return TransferOutcome.NO_ANSWER, None, "timed out waiting for an answer"
    return TransferOutcome.TRUNK_FAILURE, None, str(exc)


_counts: Counter[str] = Counter()


def record_transfer(result: TransferResult, *, call_id: str | None = None) -> None:
    """Count one finished transfer and write one structured log line for it.

    The counter is in-process; a metrics exporter can read `transfer_counts()` later.
    """
    _counts[result.outcome.value] += 1
    level = logging.WARNING if result.outcome.is_incident else logging.INFO
    logger.log(
        level,
        "transfer finished: %s",
        result.outcome.value,
        extra={
            "call_id": call_id,
            "transfer_outcome": result.outcome.value,
            "transfer_kind": result.kind,
            "transfer_target": result.target,
            "transfer_mechanism": result.mechanism,
            "sip_status_code": result.sip_status_code,
            "sip_status": result.sip_status,
            "detail": result.detail,
        },
    )


def transfer_counts() -> dict[str, int]:
    """Transfers so far in this process, by outcome value."""
    return dict(_counts)
