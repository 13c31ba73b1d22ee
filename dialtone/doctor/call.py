"""`--call NUMBER`: one real outbound call through a trunk, into a throwaway room.

This is the check that meets the carrier: credentials (401/407), the IP allow-list
(403), number format (404/484), codecs (488) and, with the audio probe, NAT (one-way
audio). A failure is explained from the SIP status with `telephony.sip_advice`. The
room is deleted afterwards whatever happened, which also hangs up the callee.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass

from livekit.api import LiveKitAPI
from livekit.protocol.room import DeleteRoomRequest, ListParticipantsRequest
from livekit.protocol.sip import CreateSIPParticipantRequest, SIPOutboundTrunkInfo

from ..telephony.sip_advice import explain
from ..telephony.sip_status import classify_dial_error
from ..trunkspec.live import LiveState
from .audio import AudioProbe, judge_audio
from .livekit_checks import KEY_FIX, is_auth_refusal
from .result import Check, failed, passed, skipped

FAMILY = "Test call"
CALLEE = "doctor-callee"
ROOM_PREFIX = "dialtone-doctor-"
POLL_S = 0.25


@dataclass(frozen=True)
class CallOptions:
    number: str
    trunk: str | None = None
    ring_seconds: float = 30.0
    tone_seconds: float = 1.0
    listen_seconds: float = 6.0


def pick_trunk(live: LiveState, wanted: str | None) -> tuple[SIPOutboundTrunkInfo | None, Check]:
    """The trunk `--trunk` names (name or ST_ id), or the only one there is."""
    name = "outbound trunk"
    known = ", ".join(repr(t.name or t.sip_trunk_id) for t in live.outbound) or "none"
    if not live.outbound:
        return None, failed(
            FAMILY,
            name,
            "LiveKit has no outbound trunk",
            "Declare one in trunks/ and run `dialtone trunks apply`.",
        )
    if wanted is None:
        if len(live.outbound) > 1:
            return None, failed(
                FAMILY,
                name,
                f"{len(live.outbound)} outbound trunks: {known}",
                "Choose one with --trunk NAME.",
            )
        trunk = live.outbound[0]
    else:
        matches = [t for t in live.outbound if wanted in (t.name, t.sip_trunk_id)]
        if not matches:
            return None, failed(
                FAMILY,
                name,
                f"no outbound trunk named {wanted!r} (LiveKit has {known})",
                "Pass --trunk with one of the names listed, or an ST_ id.",
            )
        trunk = matches[0]
    return trunk, passed(FAMILY, name, f"{trunk.name!r} ({trunk.sip_trunk_id})")


async def _watch_ringing(lk: LiveKitAPI, room: str, started: float) -> float | None:
    """Seconds until the callee's participant reports `sip.callStatus` ringing."""
    while True:
        try:
            listed = await asyncio.wait_for(
                lk.room.list_participants(ListParticipantsRequest(room=room)), 2
            )
        except Exception:  # the room may not exist yet; keep looking until cancelled
            listed = None
        for p in listed.participants if listed is not None else []:
            if p.identity == CALLEE and p.attributes.get("sip.callStatus") == "ringing":
                return time.perf_counter() - started
        await asyncio.sleep(POLL_S)


async def check_call(
    lk: LiveKitAPI,
    live: LiveState,
    options: CallOptions,
    *,
    limit_s: float,
    probe: AudioProbe | None,
) -> list[Check]:
    """Dial, report the post-dial delays or the failure's meaning, judge audio, clean up."""
    trunk, trunk_check = pick_trunk(live, options.trunk)
    out = [trunk_check]
    if trunk is None:
        return [*out, skipped(FAMILY, "dial", "no trunk to dial through")]
    room = f"{ROOM_PREFIX}{secrets.token_hex(4)}"
    request = CreateSIPParticipantRequest(
        sip_trunk_id=trunk.sip_trunk_id,
        sip_call_to=options.number,
        room_name=room,
        participant_identity=CALLEE,
        participant_name="dialtone doctor test call",
        wait_until_answered=True,
    )
    request.ringing_timeout.FromSeconds(int(options.ring_seconds))
    started = time.perf_counter()
    watcher = asyncio.create_task(_watch_ringing(lk, room, started))
    try:
        out += await _dial_and_listen(lk, request, options, started, watcher, limit_s, probe)
    finally:
        watcher.cancel()
        out += await _delete_room(lk, room, limit_s)
    return out


async def _dial_and_listen(
    lk: LiveKitAPI,
    request: CreateSIPParticipantRequest,
    options: CallOptions,
    started: float,
    watcher: asyncio.Task[float | None],
    limit_s: float,
    probe: AudioProbe | None,
) -> list[Check]:
    where = f"{options.number} via {request.sip_trunk_id}"
    try:
        await asyncio.wait_for(
            lk.sip.create_sip_participant(request), options.ring_seconds + limit_s
        )
    except Exception as exc:  # the verdict reads the exception
        seconds = time.perf_counter() - started
        failure = classify_dial_error(exc)
        # A carrier's 401/403/603 reaches us as a Twirp 401/403 too: the SIP status,
        # when there is one, is what happened; only without it is LiveKit refusing us.
        if failure.sip_status_code is None and is_auth_refusal(exc):
            fix = KEY_FIX
        else:
            fix = explain(failure)
        status = (
            f"SIP {failure.sip_status_code} {failure.text}"
            if failure.sip_status_code is not None
            else failure.text
        )
        return [
            failed(FAMILY, "dial", f"{where}: {status}", fix, seconds=seconds),
            skipped(FAMILY, "audio both ways", "the call was not answered"),
        ]
    answered = time.perf_counter() - started
    ringing = watcher.result() if watcher.done() else None
    rang = f"ringing after {ringing:.1f}s, " if ringing is not None else "ringing not reported, "
    out = [
        passed(FAMILY, "dial", f"{where}: {rang}answered after {answered:.1f}s", seconds=answered)
    ]
    if probe is None:
        out.append(skipped(FAMILY, "audio both ways", "audio check off (--no-audio)"))
        return out
    seen = await probe.observe(
        room=request.room_name,
        callee=CALLEE,
        tone_seconds=options.tone_seconds,
        listen_seconds=options.listen_seconds,
    )
    out.append(judge_audio(seen))
    return out


async def _delete_room(lk: LiveKitAPI, room: str, limit_s: float) -> list[Check]:
    try:
        await asyncio.wait_for(lk.room.delete_room(DeleteRoomRequest(room=room)), limit_s)
    except Exception as exc:  # a room the dial never created is already gone
        if getattr(exc, "code", None) == "not_found":
            return []
        return [
            failed(
                FAMILY,
                "clean up",
                f"could not delete test room {room!r}: {exc}",
                "Delete the room by hand (it also hangs up the test call); LiveKit removes "
                "it by itself once empty.",
            )
        ]
    return []
