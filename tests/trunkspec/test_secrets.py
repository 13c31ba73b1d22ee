"""No secret value ever reaches stdout, stderr, logs, JSON plans or exports."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from dialtone.trunkspec.secrets import Secret, fingerprint, matches

from .conftest import BASE, PASSWORD, PIN_VALUE, Runner, Writer

WITH_PIN = BASE.replace("agent: receptionist", "pin: ${MAIN_LINE_PIN}\n    agent: receptionist")


def test_fingerprint_is_salted_and_verifiable() -> None:
    a, b = fingerprint(PASSWORD), fingerprint(PASSWORD)
    assert a != b  # a fresh salt each time: equal passwords do not show
    assert matches(PASSWORD, a) and matches(PASSWORD, b)
    assert not matches(PASSWORD + "x", a)
    assert PASSWORD not in a
    assert not matches(PASSWORD, "scrypt$1048577$8$1$AAAA$AAAA")  # planted, too costly


def test_secret_repr_shows_only_the_reference() -> None:
    secret = Secret("${CARRIER_SIP_PASSWORD}", PASSWORD)
    assert PASSWORD not in repr(secret) + str(secret) + f"{secret}"


def test_no_output_ever_contains_a_secret(
    write: Writer,
    cli: Runner,
    livekit_double: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the client's and aiohttp's included
    monkeypatch.setenv("MAIN_LINE_PIN", PIN_VALUE)
    write(WITH_PIN)
    outputs: list[str] = []

    def run(*args: str, **kwargs: Any) -> Any:
        result = cli(*args, **kwargs)
        outputs.extend([result.stdout, result.stderr])
        return result

    run("validate")
    run("validate", "--json")
    assert run("plan").exit_code == 2
    run("plan", "--json")
    livekit_double.faults.inject(method="CreateSIPDispatchRule", nth=1, code="invalid_argument")
    assert run("apply", "--yes").exit_code == 1  # the failure path reports too
    assert run("apply", "--yes", "--json").exit_code == 0
    monkeypatch.setenv("CARRIER_SIP_PASSWORD", PASSWORD + "-rotated")
    monkeypatch.setenv("MAIN_LINE_PIN", PIN_VALUE + "0")
    assert run("plan").exit_code == 2
    run("plan", "--json")
    assert run("apply", "--yes").exit_code == 0
    export_file = tmp_path / "exported.yaml"
    run("export", "--out", str(export_file), "--lk-json", str(tmp_path / "lk"))
    run("export")
    # literal secret written by mistake, and a YAML error on the secret's line
    write(BASE.replace("${CARRIER_SIP_PASSWORD}", PASSWORD, 1))
    run("validate")
    write(BASE.replace("${CARRIER_SIP_PASSWORD}", '"' + PASSWORD, 1))
    run("validate")

    # The live objects really hold the secrets, so a leak had every chance to happen.
    (inbound,) = livekit_double.state.inbound_trunks.values()
    assert inbound.auth_password == PASSWORD + "-rotated"
    (rule,) = livekit_double.state.dispatch_rules.values()
    assert rule.rule.dispatch_rule_individual.pin == PIN_VALUE + "0"

    files = [export_file.read_text(), *(p.read_text() for p in (tmp_path / "lk").iterdir())]
    metadata = [t.metadata for t in livekit_double.state.inbound_trunks.values()]
    everything = "\n".join([*outputs, caplog.text, *files, *metadata])
    assert "Plan:" in everything and "Applied" in everything  # we did capture real output
    for value in (PASSWORD, PIN_VALUE):
        assert value not in everything
