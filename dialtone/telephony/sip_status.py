"""What a failed dial means, from the SIP status the far end answered with.

One table for every outbound leg dialtone places: the reminder agent's call to a
contact and a transfer's call to a human (`outcomes.py` maps these classes onto
transfer outcomes). LIVEKIT_API.md §5: decide from `sip_status_code` in the Twirp
error's meta, never from the Twirp code, which is lossy (486 and 480 are both
`resource_exhausted`).

The trunk classes say whose fault it is: `TRUNK_AUTH` (401/403/407, the carrier refused
our credentials or our caller id) and `TRUNK_MEDIA` (488/606, no common codec) are
configuration, and `CARRIER` (5xx) is the carrier's side. Every call on that trunk would
fail the same way, so a campaign pauses on them instead of burning through its list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from livekit.api.twirp_client import SipCallError, TwirpError


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
        return self in _TRUNK


_TRUNK = frozenset({SipClass.TRUNK_AUTH, SipClass.TRUNK_MEDIA, SipClass.CARRIER})

BUSY = frozenset({486, 600})
NO_ANSWER = frozenset({408, 480, 487})
INVALID_NUMBER = frozenset({404, 410, 484, 604})
DECLINED = frozenset({603, 607, 608})
TRUNK_AUTH = frozenset({401, 403, 407})
TRUNK_MEDIA = frozenset({488, 606})

#: Twirp codes LiveKit answers without SIP meta when our own set-up is wrong.
_LIVEKIT_CONFIG_CODES = frozenset(
    {"unauthenticated", "permission_denied", "not_found", "bad_route", "unimplemented", "internal"}
)


def classify_sip_status(code: int) -> SipClass:
    """The class of a final SIP response code (RFC 3261 §21)."""
    if code in BUSY:
        return SipClass.BUSY
    if code in NO_ANSWER:
        return SipClass.NO_ANSWER
    if code in INVALID_NUMBER:
        return SipClass.INVALID_NUMBER
    if code in DECLINED:
        return SipClass.DECLINED
    if code in TRUNK_AUTH:
        return SipClass.TRUNK_AUTH
    if code in TRUNK_MEDIA:
        return SipClass.TRUNK_MEDIA
    if 500 <= code <= 599:
        return SipClass.CARRIER
    return SipClass.OTHER


@dataclass(frozen=True)
class DialFailure:
    """Why a dial did not connect: the class, the SIP status if any, and a short text."""

    kind: SipClass
    sip_status_code: int | None
    text: str


def classify_dial_error(exc: BaseException) -> DialFailure:
    """Map an exception from `CreateSIPParticipant` (wait_until_answered) to a failure.

    `SipCallError` carries the far end's status. A ringing timeout reaches the client as
    a Twirp `canceled`/`deadline_exceeded` without SIP meta (livekit/sip's "sip request
    timed out"): nobody answered, and so does our own `TimeoutError`. A Twirp error
    without SIP meta otherwise means LiveKit refused the request (a trunk id it does not
    know, a key without the SIP grant, "sip not connected") or the request was bad.
    """
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
