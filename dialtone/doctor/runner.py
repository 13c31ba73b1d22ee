"""The order the checks run in, and which failure makes which later check pointless.

Each family needs the one before it: no point checking grants on a port that is
closed, or trunks when the SIP API is down. A check that cannot run is a SKIP naming
the failure it waits on, so the report still lists everything it did not prove.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from livekit.api import LiveKitAPI

from ..config import ConfigError, Profile, Settings
from ..trunkspec.live import LiveState
from ..wire import KNOWN_AGENT_NAMES
from . import config_checks, livekit_checks, providers
from .audio import AudioProbe, RtcAudioProbe
from .call import CallOptions, check_call
from .result import Report, Status, failed, skipped

DEFAULT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DoctorOptions:
    trunks_dir: Path = Path("trunks")
    timeout: float = DEFAULT_TIMEOUT_S
    call: CallOptions | None = None
    audio: bool = True
    latency_budget: float = providers.LATENCY_BUDGET_S


def _skip_after_livekit(report: Report, options: DoctorOptions, why: str) -> None:
    report.add(skipped(config_checks.FAMILY, "trunks, dispatch rules and personas", why))
    if options.call is not None:
        report.add(skipped("Test call", "dial", why))


async def _livekit(
    report: Report, settings: Settings, options: DoctorOptions
) -> tuple[LiveKitAPI | None, LiveState | None]:
    family = livekit_checks.FAMILY
    try:
        settings.require_livekit()
    except ConfigError as exc:
        report.add(failed(family, "settings", str(exc), "Set them in .env or the environment."))
        _skip_after_livekit(report, options, "LiveKit is not configured")
        return None, None
    reachable = await livekit_checks.check_reachable(settings.livekit_url, limit_s=options.timeout)
    report.add(reachable)
    if reachable.status is Status.FAIL:
        _skip_after_livekit(report, options, "LiveKit is not reachable")
        return None, None
    lk = LiveKitAPI(
        settings.livekit_url,
        settings.livekit_api_key,
        settings.livekit_api_secret.get_secret_value(),
    )
    checks = await livekit_checks.check_key_and_grants(lk, limit_s=options.timeout)
    report.add(checks)
    if checks[0].status is Status.FAIL:
        _skip_after_livekit(report, options, "LiveKit refused the key")
        return lk, None
    sip, live = await livekit_checks.check_sip_service(lk, limit_s=options.timeout)
    report.add(sip)
    if live is None:
        _skip_after_livekit(report, options, "LiveKit's SIP API is unavailable")
    return lk, live


def _configuration(
    report: Report,
    settings: Settings,
    options: DoctorOptions,
    live: LiveState,
    env: Mapping[str, str],
) -> None:
    book, persona_error = config_checks.load_book(settings.persona_dir, settings.default_persona)
    report.add(
        config_checks.check_trunk_sync(
            options.trunks_dir,
            live,
            env=env,
            agent_names=KNOWN_AGENT_NAMES,
            personas=set(book.personas) if book is not None else None,
            persona_error=persona_error,
        )
    )
    report.add(config_checks.check_dispatch_agents(live, agent_names=KNOWN_AGENT_NAMES))
    report.add(config_checks.check_noise_cancellation(live, livekit_url=settings.livekit_url))
    if book is None:
        report.add(
            failed(
                config_checks.FAMILY,
                "personas",
                persona_error or "the personas could not be read",
                "Fix the persona files in DIALTONE_PERSONA_DIR; the message names the field.",
            )
        )
        return
    report.add(config_checks.check_persona_numbers(book, live))
    report.add(config_checks.check_transfer_trunks(book, live))


def _voices(report: Report, settings: Settings) -> None:
    """Needs no server: a voice the engine lacks is a FAIL even before LiveKit is set up."""
    book, _ = config_checks.load_book(settings.persona_dir, settings.default_persona)
    if book is not None:  # unreadable personas are reported with the configuration
        report.add(config_checks.check_voices(book, settings))


async def _providers(
    report: Report,
    settings: Settings,
    options: DoctorOptions,
    transport: httpx.AsyncBaseTransport | None,
) -> None:
    family = providers.FAMILY
    try:
        profile = settings.resolved_profile
    except ConfigError as exc:
        report.add(
            failed(family, "profile", str(exc), "Set the missing key, or the offline profile.")
        )
        return
    if profile is Profile.OFFLINE:
        why = "offline profile: no provider keys configured (DEEPGRAM_API_KEY, OPENAI_API_KEY)"
        report.add([skipped(family, "Deepgram", why), skipped(family, "OpenAI", why)])
        return
    requests = [
        providers.deepgram_request(settings.deepgram_api_key.get_secret_value()),
        providers.openai_request(
            settings.openai_api_key.get_secret_value(), settings.openai_base_url
        ),
    ]
    async with httpx.AsyncClient(transport=transport, timeout=options.timeout) as client:
        for request in requests:
            report.add(
                await providers.check_provider(client, request, budget=options.latency_budget)
            )


async def run_doctor(
    settings: Settings,
    options: DoctorOptions,
    *,
    env: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None = None,
    probe: AudioProbe | None = None,
) -> Report:
    """Every check, in order. `transport` and `probe` are the seams tests replace."""
    report = Report(target=settings.livekit_url)
    lk, live = await _livekit(report, settings, options)
    try:
        if live is not None:
            _configuration(report, settings, options, live, env)
        _voices(report, settings)
        await _providers(report, settings, options, transport)
        if options.call is not None and lk is not None and live is not None:
            if probe is None and options.audio:
                probe = RtcAudioProbe(
                    url=settings.livekit_url,
                    api_key=settings.livekit_api_key,
                    api_secret=settings.livekit_api_secret.get_secret_value(),
                )
            report.add(
                await check_call(
                    lk,
                    live,
                    options.call,
                    limit_s=options.timeout,
                    probe=probe if options.audio else None,
                )
            )
    finally:
        if lk is not None:
            await lk.aclose()
    return report
