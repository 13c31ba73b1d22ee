"""What a SIP status means, for every consumer, in one table.

A failed dial is read by three parts of dialtone: the campaign (the attempt's outcome,
and whether the campaign pauses), a transfer (how the hand-off to a human ended) and
the call record (its outcome, which is also the `dialtone_calls_total` metric label,
since calls are counted when a record closes). Each used to keep its own mapping, and
they drifted. `TABLE` below is the only one: a row per class of status, with the SIP
codes in it and what the class means to each consumer. A new SIP code is one edit.

Decide from `sip_status_code` in the Twirp error's meta, never from the Twirp code,
which is lossy (486 and 480 are both `resource_exhausted`; livekit/sip,
`pkg/sip/errors.go`). A dial is classified once (`classify_dial_error`); a recorder
that classifies it re-raises it as `DialFailed` carrying the classification, so the
caller of the dial reads the same `DialFailure` instead of classifying again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from livekit.api.twirp_client import SipCallError, TwirpError

from ..wire import CallOutcome, Outcome


class SipClass(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    INVALID_NUMBER = "invalid_number"
    DECLINED = "declined"
    TRUNK_AUTH = "trunk_auth"
    TRUNK_MEDIA = "trunk_media"
    CARRIER = "carrier"
    #: LiveKit refused the request itself (unknown trunk, our API key, SIP not running).
    LIVEKIT_CONFIG = "livekit_config"
    #: Any other final status (3xx, an unlisted 4xx or 6xx): this call failed, no more known.
    OTHER = "other"

    @property
    def trunk_failure(self) -> bool:
        """Every call on this trunk would fail the same way: stop and tell an operator."""
        return ROWS[self].trunk_failure


class TransferOutcome(StrEnum):
    """The one way a transfer ended (see `telephony/outcomes.py`)."""

    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    DECLINED = "declined"
    VOICEMAIL = "voicemail"
    TRUNK_FAILURE = "trunk_failure"
    DROPPED_AFTER_CONNECT = "dropped_after_connect"
    #: The REFER was refused and no bridge was possible (no outbound trunk to dial on).
    REFER_REFUSED = "refer_refused"
    AFTER_HOURS = "after_hours"
    #: The caller hung up while on hold; the human's leg was released.
    CALLER_LEFT = "caller_left"

    @property
    def is_incident(self) -> bool:
        """True when an operator should look: the network or configuration failed."""
        return self in (
            TransferOutcome.TRUNK_FAILURE,
            TransferOutcome.DROPPED_AFTER_CONNECT,
            TransferOutcome.REFER_REFUSED,
        )


@dataclass(frozen=True)
class Meaning:
    """One class of SIP status: its codes, and what it means to each consumer.

    `transfer`: a transfer target is configuration, so a wrong number (404) there is a
    trunk failure an operator must fix, not the callee's "invalid number".
    `pause_hint`: set when every call on the trunk would fail the same way; the
    campaign pauses with it instead of burning through its contacts.
    """

    kind: SipClass
    codes: frozenset[int]
    campaign: Outcome
    transfer: TransferOutcome
    record: CallOutcome
    pause_hint: str | None = None
    trunk_failure: bool = False


def _row(
    kind: SipClass,
    codes: set[int] | range,
    campaign: Outcome,
    transfer: TransferOutcome,
    record: CallOutcome,
    pause_hint: str | None = None,
    *,
    trunk: bool = False,
) -> Meaning:
    return Meaning(kind, frozenset(codes), campaign, transfer, record, pause_hint, trunk)


_TF = TransferOutcome.TRUNK_FAILURE

#: The table. Codes are final SIP responses (RFC 3261 §21); a code in no row is OTHER.
TABLE: tuple[Meaning, ...] = (
    _row(SipClass.ANSWERED, {200}, Outcome.COMPLETED, TransferOutcome.COMPLETED,
         CallOutcome.COMPLETED),
    _row(SipClass.BUSY, {486, 600}, Outcome.BUSY, TransferOutcome.BUSY, CallOutcome.BUSY),
    _row(SipClass.NO_ANSWER, {408, 480, 487}, Outcome.NO_ANSWER, TransferOutcome.NO_ANSWER,
         CallOutcome.NO_ANSWER),
    _row(SipClass.INVALID_NUMBER, {404, 410, 484, 604}, Outcome.INVALID_NUMBER, _TF,
         CallOutcome.INVALID_NUMBER),
    _row(SipClass.DECLINED, {603, 607, 608}, Outcome.DECLINED, TransferOutcome.DECLINED,
         CallOutcome.DECLINED),
    _row(SipClass.TRUNK_AUTH, {401, 403, 407}, Outcome.FAILED, _TF, CallOutcome.FAILED,
         "the carrier refused our credentials or caller id: check the outbound trunk's "
         "auth_username/auth_password and that the caller id is a number of this trunk",
         trunk=True),
    _row(SipClass.TRUNK_MEDIA, {488, 606}, Outcome.FAILED, _TF, CallOutcome.FAILED,
         "no codec in common with the carrier: check the trunk's media settings", trunk=True),
    _row(SipClass.CARRIER, range(500, 600), Outcome.FAILED, _TF, CallOutcome.FAILED,
         "the carrier failed the call: check the trunk and the carrier's status", trunk=True),
    _row(SipClass.LIVEKIT_CONFIG, set(), Outcome.FAILED, _TF, CallOutcome.FAILED,
         "LiveKit refused the call: check the outbound trunk id, the worker's "
         "LIVEKIT_API_KEY/SECRET (SIP call grant) and that the SIP service runs"),
    _row(SipClass.OTHER, set(), Outcome.FAILED, _TF, CallOutcome.FAILED),
)  # fmt: skip

ROWS: dict[SipClass, Meaning] = {row.kind: row for row in TABLE}
_BY_CODE: dict[int, SipClass] = {code: row.kind for row in TABLE for code in row.codes}

#: A campaign outcome as a call-record outcome: the table's pairs, and what the
#: reminder agent decides after an answer (no SIP status involved).
RECORD_OUTCOME: dict[Outcome, CallOutcome] = {
    **{row.campaign: row.record for row in TABLE},
    Outcome.VOICEMAIL: CallOutcome.VOICEMAIL,
    Outcome.OPTED_OUT: CallOutcome.COMPLETED,  # reached the person; the detail says so
    Outcome.UNKNOWN: CallOutcome.FAILED,
    Outcome.IVR_FAILED: CallOutcome.NO_ANSWER,  # answered by a menu; the person never was
}

#: Twirp codes LiveKit answers without SIP meta when our own set-up is wrong.
_LIVEKIT_CONFIG_CODES = frozenset(
    {"unauthenticated", "permission_denied", "not_found", "bad_route", "unimplemented", "internal"}
)


def classify_sip_status(code: int) -> SipClass:
    """The class of a final SIP response code."""
    return _BY_CODE.get(code, SipClass.OTHER)


@dataclass(frozen=True)
class DialFailure:
    """Why a dial did not connect: the class, the SIP status if any, and a short text."""

    kind: SipClass
    sip_status_code: int | None
    text: str

    @property
    def meaning(self) -> Meaning:
        return ROWS[self.kind]


class DialFailed(Exception):
    """A dial that failed and was already classified (the original is `__cause__`)."""

    def __init__(self, failure: DialFailure) -> None:
        super().__init__(failure.text)
        self.failure = failure


def classify_dial_error(exc: BaseException) -> DialFailure:
    """Map an exception from `CreateSIPParticipant` (wait_until_answered) to a failure.

    `SipCallError` carries the far end's status. A ringing timeout reaches the client as
    a Twirp `canceled`/`deadline_exceeded` without SIP meta (livekit/sip's "sip request
    timed out"): nobody answered, and so does our own `TimeoutError`. A Twirp error
    without SIP meta otherwise means LiveKit refused the request (a trunk id it does not
    know, a key without the SIP grant, "sip not connected") or the request was bad.
    """
    if isinstance(exc, DialFailed):
        return exc.failure
    if isinstance(exc, SipCallError) and exc.sip_status_code is not None:
        code = exc.sip_status_code
        return DialFailure(classify_sip_status(code), code, exc.sip_status or exc.message)
    if isinstance(exc, TwirpError):
        if exc.code in ("canceled", "deadline_exceeded"):
            return DialFailure(SipClass.NO_ANSWER, None, exc.message or "ringing timed out")
        if exc.code in _LIVEKIT_CONFIG_CODES or exc.status >= 500:
            return DialFailure(SipClass.LIVEKIT_CONFIG, None, f"{exc.code}: {exc.message}")
        return DialFailure(SipClass.OTHER, None, f"{exc.code}: {exc.message}")
    if isinstance(exc, TimeoutError):
        return DialFailure(SipClass.NO_ANSWER, None, "timed out waiting for an answer")
    return DialFailure(SipClass.OTHER, None, f"{type(exc).__name__}: {exc}")
