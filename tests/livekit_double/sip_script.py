"""Scripted far ends for outbound calls and transfers.

A real dial ends with the callee's final SIP response; tests need busy, declined,
unreachable and unanswered callees without a phone network. Scripts are keyed by
the normalized called number (calls) or the transfer target without "<>"
(transfers) and stay in force until cleared, unless ``times`` limits them —
a busy line stays busy when the caller retries.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from livekit.protocol.sip import (
    CreateSIPParticipantRequest,
    SIPTransferReason,
    SIPTransferStatus,
    TransferSIPParticipantRequest,
)

from .numbers import normalize_number


@dataclass
class CallScript:
    """How the far end answers a dial. Neither code nor ringing_timeout = it answers."""

    sip_status_code: int | None = None
    sip_status: str = ""
    #: seconds before the outcome (post-dial delay / ringing), real time on the server
    delay: float = 0.0
    #: nobody answers: the server gives up when the ringing timeout ends
    ringing_timeout: bool = False
    #: how many more dials this applies to; None = until cleared
    times: int | None = None


@dataclass
class TransferScript:
    """How a transfer target answers the REFER. No code / status = it succeeds."""

    sip_status_code: int | None = None
    sip_status: str = ""
    #: SIPTransferReason name reported on failure
    reason: str = "STR_REJECTED"
    delay: float = 0.0
    ringing_timeout: bool = False
    #: answer without an error but with this SIPTransferStatus name, e.g.
    #: "STS_TRANSFER_ONGOING" — the client docstring warns this is not success
    status: str | None = None
    times: int | None = None


@dataclass
class DialRecord:
    """One CreateSIPParticipant that reached the SIP service (passed validation)."""

    request: CreateSIPParticipantRequest
    call_id: str
    #: "answered", "dialing" (not waiting), "failed", "no_answer"
    outcome: str = "dialing"
    sip_status_code: int | None = None
    #: set once the outcome is final; for a dial that did not wait for the answer,
    #: a test can block on it (e.g. ``await asyncio.to_thread(rec.settled.wait, 2)``)
    settled: threading.Event = field(default_factory=threading.Event, repr=False)


@dataclass
class TransferRecord:
    """One TransferSIPParticipant that reached the SIP service."""

    request: TransferSIPParticipantRequest
    transfer_id: str
    #: "transferred", "failed", "no_answer", or the scripted status name
    outcome: str = ""
    sip_status_code: int | None = None


def transfer_key(target: str) -> str:
    """Transfer targets compare without the angle brackets the server adds to sip: URIs."""
    if target.startswith("<") and target.endswith(">"):
        return target[1:-1]
    return target


@dataclass
class SipScripts:
    """``double.sip``: scripts, plus what was dialed and transferred."""

    calls: dict[str, CallScript] = field(default_factory=dict)
    transfer_scripts: dict[str, TransferScript] = field(default_factory=dict)
    dials: list[DialRecord] = field(default_factory=list)
    transfers: list[TransferRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def script_call(
        self,
        number: str,
        *,
        sip_status_code: int | None = None,
        sip_status: str = "",
        delay: float = 0.0,
        ringing_timeout: bool = False,
        times: int | None = None,
    ) -> None:
        """Make dials to ``number`` fail with a SIP status, ring out, or answer after ``delay``."""
        if sip_status_code is not None and not 300 <= sip_status_code <= 699:
            raise ValueError("a failing call needs a final SIP status 300-699")
        with self._lock:
            self.calls[normalize_number(number)] = CallScript(
                sip_status_code, sip_status, delay, ringing_timeout, times
            )

    def script_transfer(
        self,
        transfer_to: str,
        *,
        sip_status_code: int | None = None,
        sip_status: str = "",
        reason: str = "STR_REJECTED",
        delay: float = 0.0,
        ringing_timeout: bool = False,
        status: str | None = None,
        times: int | None = None,
    ) -> None:
        """Make transfers to ``transfer_to`` be refused, ring out, or end in ``status``."""
        SIPTransferReason.Value(reason)  # validate the name early
        if status is not None:
            SIPTransferStatus.Value(status)
        with self._lock:
            self.transfer_scripts[transfer_key(transfer_to)] = TransferScript(
                sip_status_code, sip_status, reason, delay, ringing_timeout, status, times
            )

    def take_call_script(self, number: str) -> CallScript:
        """The script for a dial to ``number`` (consuming one use), or "answers at once"."""
        with self._lock:
            key = normalize_number(number)
            script = self.calls.get(key)
            if script is None:
                return CallScript()
            if script.times is not None:
                script.times -= 1
                if script.times <= 0:
                    del self.calls[key]
            return script

    def take_transfer_script(self, target: str) -> TransferScript:
        with self._lock:
            key = transfer_key(target)
            script = self.transfer_scripts.get(key)
            if script is None:
                return TransferScript()
            if script.times is not None:
                script.times -= 1
                if script.times <= 0:
                    del self.transfer_scripts[key]
            return script

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.transfer_scripts.clear()
            self.dials.clear()
            self.transfers.clear()
