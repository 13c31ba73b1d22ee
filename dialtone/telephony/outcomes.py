"""How a transfer ended, as a type, with the SIP status that caused it.

livekit-agents' own WarmTransferTask reports a failed human leg as an error string
(livekit/agents issue 7200), so an operator cannot tell "the human declined" (normal)
from "the trunk is broken" (an incident). Every dialtone transfer ends in exactly one
`TransferOutcome`, decided from the SIP status code LiveKit returns through the one
table in `sip_status.py` (never from the Twirp code), and goes through
`record_transfer` exactly once: the one place that logs and counts transfers. Metrics
and call records attach there with `add_transfer_listener`, never by logging elsewhere.

Stable API (the reminder agent reuses it): `TransferOutcome`, `TransferResult`,
`outcome_for_sip_status`, `outcome_for_error`, `record_transfer`,
`add_transfer_listener`, `transfer_counts`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .sip_status import ROWS, classify_dial_error, classify_sip_status
from .sip_status import TransferOutcome as TransferOutcome  # part of this module's API

logger = logging.getLogger("dialtone.transfer")

TransferKind = Literal["warm", "cold"]
#: How the caller reached (or would have reached) the human: a consult (the human dialed
#: into a consult room, briefed privately, connected on acceptance), a bridge (the human
#: dialed straight into the caller's room, for a desk with no consult line), a SIP REFER,
#: or nothing at all (after hours, bad target).
Mechanism = Literal["consult", "bridge", "refer", "none"]

#: What to tell an operator whose carrier refuses SIP REFER (livekit/sip issue 234).
REFER_HINT = (
    "carrier refused SIP REFER: enable call transfer (REFER) for this trunk at the carrier; "
    "dialtone bridged the human instead"
)


@dataclass(frozen=True)
class TransferResult:
    """A finished transfer: outcome, the SIP status that caused it, and how it ran.

    `refer_refused_code` is set when a cold transfer's REFER was refused (403/603 ...) and
    dialtone fell back to the bridge; the outcome is then the bridge's.
    """

    outcome: TransferOutcome
    target: str
    kind: TransferKind
    mechanism: Mechanism
    sip_status_code: int | None = None
    sip_status: str = ""
    detail: str = ""
    refer_refused_code: int | None = None

    @property
    def needs_attention(self) -> bool:
        """An incident, or a completed transfer that only worked through the fallback."""
        return self.outcome.is_incident or self.refer_refused_code is not None


def outcome_for_sip_status(code: int | None) -> TransferOutcome:
    """The outcome a final SIP status on the human's leg means (`sip_status.TABLE`).

    No status at all is a trunk failure: the leg failed without the far end saying why.
    """
    if code is None:
        return TransferOutcome.TRUNK_FAILURE
    return ROWS[classify_sip_status(code)].transfer


def outcome_for_error(exc: BaseException) -> tuple[TransferOutcome, int | None, str]:
    """(outcome, SIP code, reason text) of an exception from a dialing call.

    Classified like every outbound leg (`sip_status.classify_dial_error`): a ringing
    timeout, ours or LiveKit's, is no answer; LiveKit refusing the request, or any
    error without a SIP status, is a trunk failure.
    """
    failure = classify_dial_error(exc)
    return failure.meaning.transfer, failure.sip_status_code, failure.text


#: Called once per finished transfer with the result and the SIP call id of the caller.
TransferListener = Callable[[TransferResult, str | None], None]

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_listeners: list[TransferListener] = []


def add_transfer_listener(listener: TransferListener) -> Callable[[], None]:
    """Call `listener` for every transfer recorded from now on; returns its remover.

    For metrics and call records. A listener that raises is logged and skipped: a
    metrics bug must never change what happens to the caller.
    """
    with _lock:
        _listeners.append(listener)

    def remove() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return remove


def record_transfer(result: TransferResult, *, call_id: str | None = None) -> None:
    """Count one finished transfer, write one structured log line, notify listeners.

    Called exactly once per transfer attempt by `TransferDesk` (and by any other code
    that hands a caller to a human), with the caller's SIP call id. Never logs secrets:
    the result holds names, outcomes and SIP statuses only.
    """
    with _lock:
        _counts[result.outcome.value] += 1
        listeners = list(_listeners)
    level = logging.WARNING if result.needs_attention else logging.INFO
    detail = result.detail
    if result.refer_refused_code is not None:
        detail = f"{REFER_HINT} (REFER answered {result.refer_refused_code}); {detail}".rstrip("; ")
    logger.log(
        level,
        "transfer to %s finished: %s (%s%s)",
        result.target,
        result.outcome.value,
        result.mechanism,
        f", SIP {result.sip_status_code}" if result.sip_status_code is not None else "",
        extra={
            "call_id": call_id,
            "transfer_outcome": result.outcome.value,
            "transfer_kind": result.kind,
            "transfer_target": result.target,
            "transfer_mechanism": result.mechanism,
            "sip_status_code": result.sip_status_code,
            "sip_status": result.sip_status,
            "refer_refused_code": result.refer_refused_code,
            "detail": detail,
        },
    )
    for listener in listeners:
        try:
            listener(result, call_id)
        except Exception:
            logger.exception("transfer listener failed", extra={"call_id": call_id})


def transfer_counts() -> dict[str, int]:
    """Transfers so far in this process, by outcome value."""
    with _lock:
        return dict(_counts)
