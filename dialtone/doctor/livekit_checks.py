"""Is LiveKit there, does it take our key, and does the key carry the grants dialtone uses.

The client (livekit-api) signs every request with exactly the grants that method needs,
so a grant is proven by calling the cheapest method that needs it and reading how the
server answers: any Twirp answer other than 401/403 (even "not found" or "invalid
argument") means the grant passed. The SIP-call probe is a dial with no trunk and no
number, which LiveKit refuses after checking the grant and before any carrier sees it.
The client sets no timeout of its own, so every call here is bounded.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlparse

from livekit.api import LiveKitAPI
from livekit.api.twirp_client import ServerError
from livekit.protocol.room import ListParticipantsRequest
from livekit.protocol.sip import CreateSIPParticipantRequest, ListSIPInboundTrunkRequest

from ..trunkspec.live import LiveState, read_live
from .result import Check, failed, passed, skipped

FAMILY = "LiveKit"
#: A room name no dialtone code uses; the probes only read it, never create it.
PROBE_ROOM = "dialtone-doctor-probe"
KEY_FIX = (
    "LIVEKIT_API_KEY/SECRET do not match the server's keys: copy a key pair from the "
    "server's `keys:` (self-hosted livekit.yaml) or the Cloud project's API keys."
)


class Answer(StrEnum):
    ANSWERED = "answered"
    REFUSED = "refused"
    BROKEN = "broken"


@dataclass(frozen=True)
class Probe:
    grant: str
    what: str
    call: Callable[[LiveKitAPI], Awaitable[object]]


PROBES: tuple[Probe, ...] = (
    Probe(
        "SIP admin",
        "list inbound trunks",
        lambda lk: lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest()),
    ),
    Probe(
        "SIP call",
        "an empty dial LiveKit must refuse",
        lambda lk: lk.sip.create_sip_participant(CreateSIPParticipantRequest()),
    ),
    Probe(
        "room admin",
        "list a probe room's participants",
        lambda lk: lk.room.list_participants(ListParticipantsRequest(room=PROBE_ROOM)),
    ),
    Probe(
        "agent dispatch",
        "list a probe room's agent dispatches",
        lambda lk: lk.agent_dispatch.list_dispatch(room_name=PROBE_ROOM),
    ),
)


def host_port(url: str) -> tuple[str, int]:
    """LIVEKIT_URL's host and port (ws/http default 80, wss/https 443)."""
    parsed = urlparse(url)
    default = 443 if parsed.scheme in ("wss", "https") else 80
    return parsed.hostname or "", parsed.port or default


async def check_reachable(url: str, *, limit_s: float) -> Check:
    """A TCP connection to LIVEKIT_URL's host and port, with the failure named."""
    host, port = host_port(url)
    name = "reachable"
    where = f"{host}:{port}"
    started = time.perf_counter()
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), limit_s)
    except socket.gaierror:
        return failed(
            FAMILY,
            name,
            f"the host {host!r} in LIVEKIT_URL does not resolve",
            "LIVEKIT_URL names a host DNS does not know: check its spelling.",
        )
    except ConnectionRefusedError:
        return failed(
            FAMILY,
            name,
            f"nothing listens on {where}: the port is closed",
            "Check LIVEKIT_URL's port (self-hosted LiveKit listens on 7880, or 443 behind "
            "TLS) and that the server runs.",
        )
    except TimeoutError:
        return failed(
            FAMILY,
            name,
            f"no answer from {where} within {limit_s:g}s",
            "A firewall drops the connection or LIVEKIT_URL names the wrong host: check both.",
        )
    except OSError as exc:
        return failed(
            FAMILY, name, f"cannot connect to {where}: {exc}", "Check LIVEKIT_URL and the network."
        )
    writer.close()
    seconds = time.perf_counter() - started
    return passed(FAMILY, name, f"{where} accepts connections", seconds=seconds)


def is_auth_refusal(exc: BaseException) -> bool:
    """401 and 403 alike: the real server answers a missing grant with 401."""
    if not isinstance(exc, ServerError):
        return False
    return exc.status in (401, 403) or exc.code in ("unauthenticated", "permission_denied")


def _judge(exc: BaseException | None, limit_s: float) -> tuple[Answer, str]:
    if exc is None:
        return Answer.ANSWERED, "answered"
    if is_auth_refusal(exc):
        assert isinstance(exc, ServerError)
        return Answer.REFUSED, f"refused ({exc.status} {exc.code}: {exc.message or 'no message'})"
    if isinstance(exc, ServerError):
        if exc.code == "unknown":
            # Not a Twirp answer at all: some other web server holds this URL.
            return Answer.BROKEN, f"HTTP {exc.status} that is not a LiveKit API answer"
        return Answer.ANSWERED, f"answered ({exc.code}: {exc.message or 'no message'})"
    if isinstance(exc, TimeoutError):
        return Answer.BROKEN, f"no answer within {limit_s:g}s"
    return Answer.BROKEN, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _run_probe(probe: Probe, lk: LiveKitAPI, limit_s: float) -> tuple[Answer, str]:
    try:
        await asyncio.wait_for(probe.call(lk), limit_s)
    except Exception as exc:  # the verdict reads the exception
        return _judge(exc, limit_s)
    return _judge(None, limit_s)


async def check_key_and_grants(lk: LiveKitAPI, *, limit_s: float) -> list[Check]:
    """The key check, then one check per grant; the key fails only if nothing answered."""
    results = [(probe, *await _run_probe(probe, lk, limit_s)) for probe in PROBES]
    answers = {answer for _probe, answer, _detail in results}
    key = "key and secret"
    if Answer.ANSWERED not in answers:
        if Answer.REFUSED in answers:
            detail = next(d for _p, a, d in results if a is Answer.REFUSED)
            out = [failed(FAMILY, key, f"every request was {detail}", KEY_FIX)]
        else:
            detail = results[0][2]
            out = [
                failed(
                    FAMILY,
                    key,
                    f"the API at LIVEKIT_URL did not answer: {detail}",
                    "Check LIVEKIT_URL points at the LiveKit server itself (scheme, host, "
                    "port; no path), not a proxy or another web server.",
                )
            ]
        why = "the key could not be checked" if Answer.REFUSED not in answers else "key refused"
        return out + [skipped(FAMILY, f"grant: {p.grant}", why) for p in PROBES]
    out = [passed(FAMILY, key, "the server accepts requests signed with this key")]
    for probe, answer, detail in results:
        name = f"grant: {probe.grant}"
        if answer is Answer.ANSWERED:
            out.append(passed(FAMILY, name, f"{probe.what}: {detail}"))
        elif answer is Answer.REFUSED:
            out.append(
                failed(
                    FAMILY,
                    name,
                    f"{probe.what}: {detail}",
                    f"This key lacks the {probe.grant} permission dialtone needs: use a key "
                    "with full API permissions.",
                )
            )
        else:
            out.append(
                failed(
                    FAMILY,
                    name,
                    f"{probe.what}: {detail}",
                    "LiveKit answered other requests but not this one: check the server's "
                    "logs and any proxy in front of it.",
                )
            )
    return out


SIP_FIX = (
    "LiveKit's SIP API is not available: a self-hosted server needs Redis and the "
    "livekit/sip service configured (docs/self-hosting.md); a Cloud project needs "
    "telephony enabled."
)


async def check_sip_service(lk: LiveKitAPI, *, limit_s: float) -> tuple[Check, LiveState | None]:
    """List every trunk and dispatch rule; the state feeds the configuration checks."""
    name = "SIP service"
    started = time.perf_counter()
    try:
        live = await asyncio.wait_for(read_live(lk.sip), limit_s)
    except Exception as exc:  # the verdict reads the exception
        answer, detail = _judge(exc, limit_s)
        if answer is Answer.REFUSED:
            return failed(FAMILY, name, f"listing trunks was {detail}", KEY_FIX), None
        if isinstance(exc, ServerError):
            detail = f"{exc.code}: {exc.message or 'no message'}"
        return failed(FAMILY, name, f"listing trunks failed: {detail}", SIP_FIX), None
    seconds = time.perf_counter() - started
    detail = (
        f"{len(live.inbound)} inbound trunk(s), {len(live.outbound)} outbound trunk(s), "
        f"{len(live.rules)} dispatch rule(s)"
    )
    return passed(FAMILY, name, detail, seconds=seconds), live
