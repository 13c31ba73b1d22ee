"""Provider keys: one timed request each, through an `httpx.MockTransport`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from dialtone.doctor.providers import (
    ProviderRequest,
    check_provider,
    deepgram_request,
    openai_request,
)
from dialtone.doctor.result import Check, Severity, Status
from tests.livekit_double import LiveKitDouble

from .conftest import Doctor, by_name


def _check(handler: httpx.MockTransport, request: ProviderRequest, budget: float = 10.0) -> Check:
    async def run() -> Check:
        async with httpx.AsyncClient(transport=handler, timeout=1) as client:
            return await check_provider(client, request, budget=budget)

    return asyncio.run(run())


def test_deepgram_key_sent_and_accepted() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"projects": []})

    check = _check(httpx.MockTransport(handler), deepgram_request("dg-key"))
    assert check.status is Status.PASS
    assert seen[0].url == "https://api.deepgram.com/v1/projects"
    assert seen[0].headers["Authorization"] == "Token dg-key"


def test_openai_base_url_models() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    _check(httpx.MockTransport(handler), openai_request("", "http://llm.local:8000/v1/"))
    assert seen[0].url == "http://llm.local:8000/v1/models"
    assert "Authorization" not in seen[0].headers


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_names_the_variable(status: int) -> None:
    check = _check(
        httpx.MockTransport(lambda r: httpx.Response(status)), openai_request("sk-bad", "")
    )
    assert check.status is Status.FAIL
    assert f"OPENAI_API_KEY refused (HTTP {status})" == check.detail
    assert "OPENAI_API_KEY" in check.fix


def test_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    check = _check(httpx.MockTransport(handler), deepgram_request("k"))
    assert check.status is Status.FAIL
    assert "no answer" in check.detail


def test_connection_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    check = _check(httpx.MockTransport(handler), openai_request("k", "http://127.0.0.1:9/v1"))
    assert check.status is Status.FAIL
    assert "Connection refused" in check.detail
    assert "OPENAI_BASE_URL" in check.fix


def test_server_error() -> None:
    check = _check(httpx.MockTransport(lambda r: httpx.Response(502)), deepgram_request("k"))
    assert check.status is Status.FAIL
    assert "HTTP 502" in check.detail


async def _slow(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(0.05)
    return httpx.Response(200, json={})


def test_slow_answer_is_a_warning_level_fail() -> None:
    check = _check(httpx.MockTransport(_slow), deepgram_request("k"), budget=0.02)
    assert check.status is Status.FAIL
    assert check.severity is Severity.WARNING
    assert "a caller tolerates about 0.02s" in check.detail


def test_fast_answer_passes_with_its_time() -> None:
    check = _check(httpx.MockTransport(_slow), deepgram_request("k"), budget=5)
    assert check.status is Status.PASS
    assert check.seconds is not None and check.seconds >= 0.05


def test_offline_profile_skips_with_the_reason(healthy: LiveKitDouble, doctor: Doctor) -> None:
    checks = by_name(doctor())
    assert checks["Deepgram"].status is Status.SKIP
    assert "offline profile" in checks["Deepgram"].detail


def test_half_a_set_of_keys_fails(
    healthy: LiveKitDouble, doctor: Doctor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALTONE_PROFILE", "auto")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    check = by_name(doctor())["profile"]
    assert check.status is Status.FAIL
    assert "DEEPGRAM_API_KEY" in check.detail


def test_full_run_with_keys_every_check_passes_and_json_shape(
    healthy: LiveKitDouble, deployment: Path, doctor: Doctor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALTONE_PROFILE", "cloud")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-good")
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-good")
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(200, json={})

    report = doctor(transport=httpx.MockTransport(handler))
    assert hosts == ["api.deepgram.com", "api.openai.com"]
    # The repo's trunk asks for Krisp, which this (self-hosted) server does not run: said,
    # as a skip, not a failure.
    noise = "noise cancellation on inbound trunks"
    assert {c.status for c in report.checks if c.name != noise} == {Status.PASS}
    data = json.loads(json.dumps(report.to_json()))
    assert data["ok"] is True
    assert data["target"] == healthy.url
    assert data["summary"] == {"pass": len(report.checks) - 1, "fail": 0, "skip": 1}
    assert "real deployment" in data["notice"]
    first = data["checks"][0]
    assert set(first) == {"family", "name", "status", "severity", "detail", "fix", "seconds"}
    assert first["family"] == "LiveKit" and first["status"] == "pass"
    assert first["severity"] is None and first["fix"] is None
