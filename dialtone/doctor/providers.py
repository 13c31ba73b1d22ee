"""One timed, authenticated request per speech/language provider.

A provider key that is wrong fails the first call's first turn; a provider that is slow
from this host makes every turn feel broken. The request is the cheapest one that needs
the key (Deepgram: list projects; OpenAI or a compatible server: list models) and its
time is compared with the pause a phone caller tolerates. The client is built by the
caller so tests hand in an `httpx.MockTransport`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from .result import Check, Severity, failed, passed

FAMILY = "Providers"
#: Above this, a caller hears dead air long enough to say "hello?" (per request; a turn
#: makes several).
LATENCY_BUDGET_S = 1.5
DEEPGRAM_URL = "https://api.deepgram.com/v1/projects"
OPENAI_BASE = "https://api.openai.com/v1"


@dataclass(frozen=True)
class ProviderRequest:
    name: str
    variable: str
    url: str
    headers: dict[str, str]
    key_fix: str


def deepgram_request(key: str) -> ProviderRequest:
    return ProviderRequest(
        "Deepgram",
        "DEEPGRAM_API_KEY",
        DEEPGRAM_URL,
        {"Authorization": f"Token {key}"},
        "Create a key in the Deepgram console and set DEEPGRAM_API_KEY to it.",
    )


def openai_request(key: str, base_url: str) -> ProviderRequest:
    base = (base_url or OPENAI_BASE).rstrip("/")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    where = "OPENAI_BASE_URL's server" if base_url else "OpenAI"
    return ProviderRequest(
        "OpenAI" if not base_url else f"OpenAI-compatible ({base})",
        "OPENAI_API_KEY",
        f"{base}/models",
        headers,
        f"Set OPENAI_API_KEY to a key {where} accepts.",
    )


async def check_provider(
    client: httpx.AsyncClient, request: ProviderRequest, *, budget: float = LATENCY_BUDGET_S
) -> Check:
    """PASS when the key is accepted within `budget` seconds."""
    name = request.name
    started = time.perf_counter()
    try:
        response = await client.get(request.url, headers=request.headers)
    except httpx.TimeoutException:
        return failed(
            FAMILY,
            name,
            f"no answer from {request.url} in time",
            "The provider or this host's network is down or very slow: check outbound HTTPS "
            "from the worker's host.",
            seconds=time.perf_counter() - started,
        )
    except httpx.HTTPError as exc:
        return failed(
            FAMILY,
            name,
            f"cannot reach {request.url}: {exc or type(exc).__name__}",
            "Check DNS, the firewall and any proxy between this host and the provider"
            + (" (and OPENAI_BASE_URL)." if "OpenAI" in name else "."),
        )
    seconds = time.perf_counter() - started
    status = response.status_code
    if status in (401, 403):
        return failed(
            FAMILY,
            name,
            f"{request.variable} refused (HTTP {status})",
            request.key_fix,
            seconds=seconds,
        )
    if status >= 400:
        return failed(
            FAMILY,
            name,
            f"HTTP {status} from {request.url}",
            "The provider answered with an error: check its status page and the URL.",
            seconds=seconds,
        )
    if seconds > budget:
        return failed(
            FAMILY,
            name,
            f"key accepted, but the answer took {seconds:.2f}s; a caller tolerates about "
            f"{budget:g}s",
            "Run the worker in a region near the provider, or use a faster endpoint.",
            severity=Severity.WARNING,
            seconds=seconds,
        )
    return passed(FAMILY, name, f"key accepted in {seconds:.2f}s", seconds=seconds)
