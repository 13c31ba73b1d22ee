"""What a failed dial's SIP status usually means on a trunk, and what to check.

`sip_status.TABLE` says what a status *does* (outcome, pause, transfer result); this
table says what an operator should *look at*, for `dialtone doctor --call`. It is keyed
by the same `SipClass`, with sentences for single codes where the class is too coarse
(401 and 403 are both `TRUNK_AUTH`, yet one is a password and the other an IP
allow-list). A test keeps every code here inside the class it is filed under, so the
two tables cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from .sip_status import DialFailure, SipClass, classify_sip_status


@dataclass(frozen=True)
class Advice:
    """One class's sentence, and sharper sentences for some of its codes."""

    default: str
    by_code: MappingProxyType[int, str] = field(default_factory=lambda: MappingProxyType({}))


def _advice(default: str, **codes: str) -> Advice:
    return Advice(default, MappingProxyType({int(k[1:]): v for k, v in codes.items()}))


ADVICE: Final[MappingProxyType[SipClass, Advice]] = MappingProxyType(
    {
        SipClass.ANSWERED: _advice("The call was answered: the trunk carries calls."),
        SipClass.BUSY: _advice(
            "The line was busy: the call reached the callee's network, so the trunk works; "
            "test with a line that is free.",
            c600="Busy everywhere (600): the callee's every device is busy; the trunk itself "
            "works, so test with another number.",
        ),
        SipClass.NO_ANSWER: _advice(
            "Nobody answered before the ringing timeout: if every call ends this way, check "
            "the trunk's address, transport and port reach the carrier.",
            c408="Request timeout (408): the carrier never gave a final answer in time; check "
            "the trunk's address, transport (udp/tcp/tls) and port, then that the callee "
            "picks up.",
            c480="Temporarily unavailable (480): the callee's phone is off or out of "
            "coverage; test with a number you know answers.",
            c487="The call was cancelled before an answer (487): the ringing timeout ended "
            "it; raise --ring or answer sooner.",
        ),
        SipClass.INVALID_NUMBER: _advice(
            "The carrier does not accept the dialed number: dial in E.164 (+ and the "
            "country code) or the format your carrier documents.",
            c404="Not found (404): the carrier does not know this number; dial in E.164 "
            "(+ and the country code) and check the trunk's address is your carrier's.",
            c484="Address incomplete (484): the number lacks digits or the carrier wants "
            "another format; dial in E.164 (+ and the country code).",
        ),
        SipClass.DECLINED: _advice(
            "The callee declined: the call reached a phone, so the trunk works; if nobody "
            "declined by hand, the carrier's spam filter may block your caller id.",
            c603="Decline (603): the call reached the callee, who refused it; if nobody "
            "did, the carrier's fraud or spam filter may be refusing your caller id.",
        ),
        SipClass.TRUNK_AUTH: _advice(
            "The carrier refused our credentials or caller id: check the outbound trunk's "
            "auth username and password, and that the caller id is one of its numbers.",
            c401="Unauthorized (401): the carrier's credential challenge failed; check the "
            "outbound trunk's auth username and password against the carrier's "
            "credential list.",
            c403="Forbidden (403): usually LiveKit SIP's public IP is not on the carrier's "
            "IP allow-list, or the caller id is not a number the carrier lets you "
            "present; check both.",
            c407="Proxy authentication required (407) and our answer failed: the outbound "
            "trunk's auth username or password is wrong or missing.",
        ),
        SipClass.TRUNK_MEDIA: _advice(
            "No codec or media mode in common with the carrier (488/606): check the "
            "trunk's media_encryption (SRTP required or not) and that the carrier allows "
            "G.711 (PCMU/PCMA).",
        ),
        SipClass.CARRIER: _advice(
            "The carrier failed the call (5xx): check the carrier's status page, the "
            "trunk's address and transport, and your account's balance and channel limit.",
            c503="Service unavailable (503): the carrier or its upstream could not take the "
            "call; check the carrier's status, the trunk's address and transport, and your "
            "account's balance and channel limit.",
        ),
        SipClass.LIVEKIT_CONFIG: _advice(
            "LiveKit refused the dial before any carrier saw it: check the outbound trunk "
            "id, that the API key may place SIP calls, and that the SIP service runs.",
        ),
        SipClass.OTHER: _advice(
            "An unusual final SIP status: look it up in RFC 3261 section 21 and ask the "
            "carrier what it means for this trunk.",
        ),
    }
)


def explain_code(code: int) -> str:
    """The sentence for a final SIP status code."""
    advice = ADVICE[classify_sip_status(code)]
    return advice.by_code.get(code, advice.default)


def explain(failure: DialFailure) -> str:
    """The sentence for a classified dial failure (SIP status or LiveKit's refusal)."""
    if failure.sip_status_code is not None:
        return explain_code(failure.sip_status_code)
    return ADVICE[failure.kind].default
