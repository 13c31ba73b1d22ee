"""Fixtures for the trunk tests: a trunks directory, env vars, and the CLI runner."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from dialtone.cli.trunks import app

REPO = Path(__file__).resolve().parents[2]
# Distinctive, so that a leak anywhere in any output is found by a plain substring test.
PASSWORD = "Zq8-leak-canary-Password-41f7"
PIN_VALUE = "918273"

BASE = """
inbound_trunks:
  - name: carrier-inbound
    numbers: ["+15550100100", "+15550100101"]
    allowed_addresses: [54.172.60.0/30]
    auth:
      username: inbound-user
      password: ${CARRIER_SIP_PASSWORD}
    krisp: true
    ringing_timeout: 30s
outbound_trunks:
  - name: carrier-outbound
    address: example.pstn.twilio.com
    transport: tls
    numbers: ["+15550100100"]
    auth:
      username: dialtone
      password: ${CARRIER_SIP_PASSWORD}
    media_encryption: require
dispatch_rules:
  - name: main-line
    trunks: [carrier-inbound]
    numbers: ["+15550100100"]
    agent: receptionist
    persona: receptionist
"""


@pytest.fixture(autouse=True)
def _trunk_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CARRIER_SIP_PASSWORD", PASSWORD)
    monkeypatch.setenv("DIALTONE_PERSONA_DIR", str(REPO / "personas"))
    monkeypatch.setenv("DIALTONE_DEFAULT_PERSONA", "receptionist")
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory


@pytest.fixture
def trunk_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "trunks"
    directory.mkdir()
    return directory


Writer = Callable[..., Path]


@pytest.fixture
def write(trunk_dir: Path) -> Writer:
    def _write(text: str, name: str = "carrier.yaml") -> Path:
        path = trunk_dir / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


Runner = Callable[..., Result]


@pytest.fixture
def cli(trunk_dir: Path) -> Runner:
    runner = CliRunner()

    def _run(command: str, *args: str, directory: Path | None = None) -> Result:
        argv = [command]
        if command != "export":
            argv += ["--dir", str(directory or trunk_dir)]
        return runner.invoke(app, [*argv, *args], catch_exceptions=False)

    return _run
