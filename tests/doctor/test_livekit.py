"""LiveKit reachability, key, grants and the SIP service, against the double."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from dialtone.doctor.livekit_checks import KEY_FIX, SIP_FIX, check_reachable
from dialtone.doctor.result import Status
from tests.livekit_double import LiveKitDouble
from tests.livekit_double.auth import AuthStyle

from .conftest import Doctor, apply_trunks, by_name, cli, failures

GRANTS = ("grant: SIP admin", "grant: SIP call", "grant: room admin", "grant: agent dispatch")


def test_healthy_deployment_passes_every_check(healthy: LiveKitDouble, doctor: Doctor) -> None:
    report = doctor()
    checks = by_name(report)
    for name in ("reachable", "key and secret", *GRANTS, "SIP service"):
        assert checks[name].status is Status.PASS, checks[name]
    assert failures(report) == {}
    assert report.ok
    # The configuration checks ran (not skipped) and passed.
    for name in (
        "trunks/ in sync",
        "dispatch rules name dialtone agents",
        "persona numbers on inbound trunks",
        "transfer targets' outbound trunks",
    ):
        assert checks[name].status is Status.PASS, checks[name]


def test_healthy_cli_exits_zero_and_says_it_is_unproven(healthy: LiveKitDouble) -> None:
    result = cli()
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert "PASS  key and secret" in result.output
    assert "has met a real deployment yet" in result.output
    # The probes never leave anything behind on the server.
    assert healthy.state.rooms == {}
    assert healthy.sip.dials == []


@pytest.mark.parametrize("style", ["spec", "livekit-server"])
def test_wrong_secret_names_the_key_pair(
    deployment: Path, monkeypatch: pytest.MonkeyPatch, doctor: Doctor, style: AuthStyle
) -> None:
    with LiveKitDouble(
        api_secret="the-servers-real-secret-0123456789abcdef", auth_errors=style
    ) as lk:  # type: ignore[arg-type]
        monkeypatch.setenv("LIVEKIT_URL", lk.url)
        report = doctor()
    checks = by_name(report)
    assert checks["reachable"].status is Status.PASS
    assert checks["key and secret"].status is Status.FAIL
    assert checks["key and secret"].fix == KEY_FIX
    assert "LIVEKIT_API_KEY/SECRET do not match the server's keys" in KEY_FIX
    assert all(checks[g].status is Status.SKIP for g in GRANTS)
    assert not report.ok


@pytest.mark.parametrize(
    ("method", "grant", "code"),
    [
        ("CreateSIPParticipant", "grant: SIP call", "permission_denied"),
        ("ListDispatch", "grant: agent dispatch", "unauthenticated"),
        ("ListParticipants", "grant: room admin", "permission_denied"),
    ],
)
def test_missing_grant_is_named(
    healthy: LiveKitDouble, doctor: Doctor, method: str, grant: str, code: str
) -> None:
    # The client mints the grants itself, so a key with fewer grants is modelled by the
    # server's own refusal for that one method (401/403 "permissions denied").
    healthy.faults.inject(method, code=code, msg="permissions denied", times=5)
    report = doctor()
    checks = by_name(report)
    assert checks["key and secret"].status is Status.PASS
    assert set(failures(report)) == {grant}
    assert grant.removeprefix("grant: ") in checks[grant].fix
    assert not report.ok


def test_sip_service_down(
    deployment: Path, monkeypatch: pytest.MonkeyPatch, doctor: Doctor
) -> None:
    with LiveKitDouble(sip_connected=False) as lk:
        monkeypatch.setenv("LIVEKIT_URL", lk.url)
        report = doctor()
    checks = by_name(report)
    assert checks["SIP service"].status is Status.FAIL
    assert checks["SIP service"].fix == SIP_FIX
    assert "sip not connected" in checks["SIP service"].detail
    assert checks["trunks, dispatch rules and personas"].status is Status.SKIP


def test_closed_port_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    check = asyncio.run(check_reachable(f"ws://127.0.0.1:{port}", limit_s=2))
    assert check.status is Status.FAIL
    assert "port is closed" in check.detail
    assert "7880" in check.fix


def test_unknown_host_is_named() -> None:
    check = asyncio.run(check_reachable("wss://no-such-host.invalid", limit_s=5))
    assert check.status is Status.FAIL
    assert "does not resolve" in check.detail


def test_closed_port_cli_skips_the_rest(deployment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LIVEKIT_URL", f"http://127.0.0.1:{port}")
    result = cli()
    assert result.exit_code == 1
    assert "FAIL  reachable" in result.output
    assert "LiveKit is not reachable" in result.output
    assert "Traceback" not in result.output


def test_not_configured(deployment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "")
    result = cli()
    assert result.exit_code == 1
    assert "LIVEKIT_URL" in result.output
    assert "LiveKit is not configured" in result.output


def test_apply_helper_makes_the_double_hold_the_trunks(
    deployment: Path, livekit_double: LiveKitDouble
) -> None:
    apply_trunks(livekit_double, deployment / "trunks")
    assert [t.name for t in livekit_double.state.inbound_trunks.values()] == ["carrier-inbound"]
