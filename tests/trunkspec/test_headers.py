"""Credentials in an outbound trunk's `headers`: `${VAR}` like passwords, never shown.

A carrier that authenticates by API key in a SIP header (`X-Api-Key`) makes that header
a secret: a literal one ends up in git history, and its value must not appear in any
output dialtone prints (validate, plan text and JSON, apply, export).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import BASE, Runner, Writer

API_KEY = "sk_live_header-canary-7d1e"
WITH_REF = BASE.replace(
    "    media_encryption: require\n",
    "    media_encryption: require\n"
    "    headers:\n"
    "      X-Customer: maple-street\n"
    "      X-Api-Key: ${CARRIER_API_KEY}\n",
)


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARRIER_API_KEY", API_KEY)


@pytest.mark.parametrize(
    "header", ["X-Api-Key", "Authorization", "X-Auth-Token", "X-Client-Secret", "X-Signature"]
)
def test_literal_value_in_a_credential_header_is_refused(
    write: Writer, cli: Runner, header: str
) -> None:
    write(WITH_REF.replace("X-Api-Key: ${CARRIER_API_KEY}", f"{header}: {API_KEY}"))
    result = cli("validate")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if header in line]
    assert len(lines) == 1, result.stderr
    assert re.match(
        rf"\S*carrier\.yaml:21:7: outbound_trunks\[0\]\.headers\.{header}: a literal secret",
        lines[0],
    ), lines[0]
    assert API_KEY not in result.output


def test_literal_value_in_an_ordinary_header_passes_and_is_shown(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    write(WITH_REF)
    assert cli("validate").exit_code == 0
    result = cli("plan")
    assert result.exit_code == 2
    assert '"X-Customer": "maple-street"' in result.stdout


def test_header_reference_must_be_set(
    write: Writer, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARRIER_API_KEY")
    write(WITH_REF)
    result = cli("validate")
    assert result.exit_code == 1
    assert re.search(
        r"carrier\.yaml:21:7: outbound_trunks\[0\]\.headers\.X-Api-Key: "
        r"environment variable CARRIER_API_KEY is not set",
        result.stderr,
    ), result.stderr


def test_header_reference_must_be_one_line(
    write: Writer, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARRIER_API_KEY", "abc\r\nX-Injected: yes")
    write(WITH_REF)
    result = cli("validate")
    assert result.exit_code == 1
    assert "environment variable CARRIER_API_KEY must be one line" in result.stderr


def test_header_reference_is_sent_resolved_and_masked_everywhere(
    write: Writer, cli: Runner, livekit_double: Any, tmp_path: Path
) -> None:
    write(WITH_REF)
    outputs = [cli("validate").output]
    plan_text = cli("plan")
    plan_json = cli("plan", "--json")
    assert plan_text.exit_code == 2 and plan_json.exit_code == 2
    assert '"X-Api-Key": "********"' in plan_text.stdout
    applied = cli("apply", "--yes")
    assert applied.exit_code == 0, applied.output
    applied_json_run = cli("plan", "--json")
    outputs += [plan_text.output, plan_json.output, applied.output, applied_json_run.output]

    (outbound,) = livekit_double.state.outbound_trunks.values()
    assert outbound.headers["X-Api-Key"] == API_KEY  # the carrier gets the value
    assert outbound.headers["X-Customer"] == "maple-street"
    assert applied_json_run.exit_code == 0  # converged: the resolved value is compared

    exported = cli("export", "--lk-json", str(tmp_path / "lk"))
    assert exported.exit_code == 0, exported.output
    outputs.append(exported.output)
    outputs += [p.read_text() for p in (tmp_path / "lk").iterdir()]
    assert "X-Api-Key: ${DIALTONE_OUTBOUND_CARRIER_OUTBOUND_HEADER_X_API_KEY}" in exported.stdout
    assert "X-Customer: maple-street" in exported.stdout
    for text in outputs:
        assert API_KEY not in text


def test_changed_header_secret_is_detected_not_shown(
    write: Writer, cli: Runner, livekit_double: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(WITH_REF)
    assert cli("apply", "--yes").exit_code == 0
    monkeypatch.setenv("CARRIER_API_KEY", "sk_live_rotated-canary-2")
    result = cli("plan", "--json")
    assert result.exit_code == 2
    (change,) = json.loads(result.stdout)["changes"]
    (field,) = change["fields"]
    assert field["field"] == "headers"
    assert field["old"]["X-Api-Key"] == "********"
    assert field["new"]["X-Api-Key"] == "(secret changed)"
    text = cli("plan")
    assert "sk_live_rotated-canary-2" not in text.output + result.output
    assert API_KEY not in text.output + result.output
