"""`dialtone trunks validate`: every error points at file:line:col and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import BASE, PASSWORD, REPO, Runner, Writer


def test_base_file_is_valid(write: Writer, cli: Runner) -> None:
    write(BASE)
    result = cli("validate")
    assert result.exit_code == 0, result.output
    assert "1 inbound trunk(s), 1 outbound trunk(s), 1 dispatch rule(s)" in result.stdout


def test_shipped_examples_validate_when_env_is_set(cli: Runner) -> None:
    result = cli("validate", directory=REPO / "trunks")
    assert result.exit_code == 0, result.output


def test_shipped_examples_name_missing_env_var(
    cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARRIER_SIP_PASSWORD")
    result = cli("validate", directory=REPO / "trunks")
    assert result.exit_code == 1
    assert re.search(
        r"carrier\.yaml:\d+:\d+: outbound_trunks\[0\]\.auth\.password: "
        r"environment variable CARRIER_SIP_PASSWORD is not set",
        result.stderr,
    ), result.stderr


def test_schema_error_has_line_column_and_path(write: Writer, cli: Runner) -> None:
    write(BASE.replace('"+15550100101"', '"555-0101"'))
    result = cli("validate")
    assert result.exit_code == 1
    assert "carrier.yaml:3:31: inbound_trunks[0].numbers[1]: '555-0101' is not an E.164" in (
        result.stderr
    ), result.stderr


def test_unknown_key_is_rejected_where_written(write: Writer, cli: Runner) -> None:
    write(BASE.replace("    krisp: true\n", "    krisp: true\n    allowed_adresses: [0.0.0.0/0]\n"))
    result = cli("validate")
    assert result.exit_code == 1
    assert "carrier.yaml:9:5: inbound_trunks[0].allowed_adresses: unknown key" in result.stderr


def test_literal_password_is_an_error_and_not_echoed(write: Writer, cli: Runner) -> None:
    write(
        BASE.replace(
            "password: ${CARRIER_SIP_PASSWORD}\n    krisp", "password: hunter2-literal\n    krisp"
        )
    )
    result = cli("validate")
    assert result.exit_code == 1
    assert "inbound_trunks[0].auth.password: a literal secret is not allowed" in result.stderr
    assert "hunter2-literal" not in result.output


def test_duplicate_names_across_files_show_both_places(write: Writer, cli: Runner) -> None:
    write(BASE)
    write(
        """
        outbound_trunks:
          - name: carrier-outbound
            address: 10.0.0.5
            transport: udp
            numbers: ["+15550100199"]
        """,
        name="second.yaml",
    )
    result = cli("validate")
    assert result.exit_code == 1
    assert re.search(
        r"second\.yaml:2:5: outbound_trunks\[0\]\.name: outbound trunk name 'carrier-outbound' "
        r"is already used at .*carrier\.yaml:11:5 \(outbound_trunks\[0\]\.name\)",
        result.stderr,
    ), result.stderr


def test_unknown_trunk_reference(write: Writer, cli: Runner) -> None:
    write(BASE.replace("trunks: [carrier-inbound]", "trunks: [carrier-inbound, nope]"))
    result = cli("validate")
    assert result.exit_code == 1
    assert "dispatch_rules[0].trunks[1]: unknown inbound trunk 'nope'" in result.stderr


def test_outbound_trunk_reference_is_explained(write: Writer, cli: Runner) -> None:
    write(BASE.replace("trunks: [carrier-inbound]", "trunks: [carrier-outbound]"))
    result = cli("validate")
    assert result.exit_code == 1
    assert "'carrier-outbound' is an outbound trunk" in result.stderr


def test_missing_env_vars_are_all_named(
    write: Writer, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        BASE.replace(
            "password: ${CARRIER_SIP_PASSWORD}\n    media", "password: ${OUT_PW}\n    media"
        )
    )
    monkeypatch.delenv("CARRIER_SIP_PASSWORD")
    result = cli("validate")
    assert result.exit_code == 1
    assert "environment variable CARRIER_SIP_PASSWORD is not set" in result.stderr
    assert "environment variable OUT_PW is not set" in result.stderr


def test_inbound_trunks_on_the_same_number_conflict(write: Writer, cli: Runner) -> None:
    write(BASE)
    write(
        """
        inbound_trunks:
          - name: other-carrier
            numbers: ["+15550100101"]
            allowed_addresses: [192.0.2.0/24]
        """,
        name="other.yaml",
    )
    result = cli("validate")
    assert result.exit_code == 1
    assert re.search(
        r"other\.yaml:2:5: inbound_trunks\[0\]: conflicts with inbound trunk 'carrier-inbound' "
        r".*number \+15550100101 from any caller",
        result.stderr,
    ), result.stderr


def test_inbound_trunks_with_distinct_allowed_callers_do_not_conflict(
    write: Writer, cli: Runner
) -> None:
    write(
        """
        inbound_trunks:
          - name: a
            numbers: ["+15550100100"]
            allowed_numbers: ["+15557770001"]
          - name: b
            numbers: ["+15550100100"]
            allowed_numbers: ["+15557770002"]
          - name: c            # no allowed_numbers: its own "any caller" slot
            numbers: ["+15550100100"]
        """
    )
    assert cli("validate").exit_code == 0


def test_inbound_trunks_sharing_an_allowed_caller_conflict(write: Writer, cli: Runner) -> None:
    write(
        """
        inbound_trunks:
          - name: a
            numbers: ["+15550100100"]
            allowed_numbers: ["+15557770001"]
          - name: b
            numbers: ["+15550100100"]
            allowed_numbers: ["+15557770002", "+15557770001"]
        """
    )
    result = cli("validate")
    assert result.exit_code == 1
    assert "from caller +15557770001" in result.stderr


def test_dispatch_rules_conflict_on_same_trunk_number_and_pin(write: Writer, cli: Runner) -> None:
    write(
        BASE
        + """
  - name: duplicate-line
    trunks: [carrier-inbound]
    numbers: ["+15550100100", "+15550100101"]
    agent: receptionist
"""
    )
    result = cli("validate")
    assert result.exit_code == 1
    assert re.search(
        r"dispatch_rules\[1\]: conflicts with dispatch rule 'main-line' .*"
        r"trunk carrier-inbound, number \+15550100100, any caller, no PIN",
        result.stderr,
    ), result.stderr


def test_dispatch_rules_differing_by_pin_or_trunk_scope_do_not_conflict(
    write: Writer, cli: Runner
) -> None:
    write(
        BASE
        + """
  - name: pin-line
    trunks: [carrier-inbound]
    numbers: ["+15550100100"]
    pin: "1234"
    agent: receptionist
  - name: any-trunk
    numbers: ["+15550100100"]
    agent: receptionist
"""
    )
    result = cli("validate")
    assert result.exit_code == 0, result.output


def test_unknown_agent_and_persona(write: Writer, cli: Runner) -> None:
    write(
        BASE.replace("agent: receptionist", "agent: concierge").replace(
            "persona: receptionist", "persona: pirate"
        )
    )
    result = cli("validate")
    assert result.exit_code == 1
    assert "dispatch_rules[0].agent: no dialtone worker registers agent 'concierge'" in (
        result.stderr
    )
    assert (
        "dispatch_rules[0].persona: unknown persona 'pirate' (known: receptionist, reminder)"
        in result.stderr
    )


def test_did_owned_by_no_trunk_is_a_warning(write: Writer, cli: Runner) -> None:
    write(
        BASE.replace('numbers: ["+15550100100"]\n    agent', 'numbers: ["+15550100999"]\n    agent')
    )
    result = cli("validate")
    assert result.exit_code == 0, result.output
    assert "dispatch_rules[0].numbers[0]: warning: +15550100999 is not in the numbers" in (
        result.stderr
    )


def test_udp_to_a_public_address_is_a_warning(write: Writer, cli: Runner) -> None:
    write(BASE.replace("transport: tls", "transport: udp"))
    result = cli("validate")
    assert result.exit_code == 0
    assert "outbound_trunks[0].transport: warning: udp to the public address" in result.stderr


def test_udp_to_a_private_address_is_fine(write: Writer, cli: Runner) -> None:
    write(
        BASE.replace("transport: tls", "transport: udp").replace(
            "example.pstn.twilio.com", "10.1.2.3:5060"
        )
    )
    result = cli("validate")
    assert result.exit_code == 0
    assert "warning" not in result.stderr


def test_yaml_syntax_error_has_position_and_no_source_line(write: Writer, cli: Runner) -> None:
    write('inbound_trunks:\n  - name: "broken\n    auth: {password: "' + PASSWORD + '"}\n')
    result = cli("validate")
    assert result.exit_code == 1
    assert re.search(r"carrier\.yaml:\d+:\d+: YAML syntax error", result.stderr)
    assert PASSWORD not in result.output


def test_key_written_twice(write: Writer, cli: Runner) -> None:
    write(BASE.replace("    krisp: true\n", "    krisp: true\n    krisp: false\n"))
    result = cli("validate")
    assert result.exit_code == 1
    assert "carrier.yaml:9:5: inbound_trunks[0].krisp: key written twice (first on line 8)" in (
        result.stderr
    )


def test_rule_timeouts_belong_to_the_trunk(write: Writer, cli: Runner) -> None:
    write(
        BASE.replace(
            "    persona: receptionist\n", "    persona: receptionist\n    ringing_timeout: 20s\n"
        )
    )
    result = cli("validate")
    assert result.exit_code == 1
    assert "set ringing_timeout on the inbound trunk" in result.stderr


def test_open_inbound_trunk_is_refused(write: Writer, cli: Runner) -> None:
    write("inbound_trunks:\n  - name: wide-open\n")
    result = cli("validate")
    assert result.exit_code == 1
    assert "carrier.yaml:2:5: inbound_trunks[0]: set at least one of auth" in result.stderr


def test_outbound_address_must_not_be_a_uri(write: Writer, cli: Runner) -> None:
    write(BASE.replace("example.pstn.twilio.com", "sip:example.pstn.twilio.com;transport=tls"))
    result = cli("validate")
    assert result.exit_code == 1
    assert "outbound_trunks[0].address: must be a hostname or IP" in result.stderr


def test_json_output(write: Writer, cli: Runner) -> None:
    import json

    write(BASE.replace("agent: receptionist", "agent: concierge"))
    result = cli("validate", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert data["problems"][0]["path"] == "dispatch_rules[0].agent"
    assert data["problems"][0]["line"] == 23


def test_the_documented_example_is_valid(
    write: Writer, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = (REPO / "docs" / "trunks.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    write(example)
    monkeypatch.setenv("CARRIER_INBOUND_PASSWORD", "x" * 24)
    monkeypatch.setenv("CARRIER_API_KEY", "y" * 24)
    result = cli("validate")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


def test_secrets_may_come_from_dotenv(
    write: Writer, cli: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write(BASE)
    monkeypatch.delenv("CARRIER_SIP_PASSWORD")
    # cwd is tmp_path: with no DIALTONE_PROJECT_DIR, its .env is the project's
    monkeypatch.delenv("DIALTONE_PROJECT_DIR", raising=False)
    (tmp_path / ".env").write_text("CARRIER_SIP_PASSWORD=from-dotenv-file\n")
    result = cli("validate")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("text", ["", "# truncated before the first trunk\n"])
def test_empty_file_is_an_error_not_zero_trunks(write: Writer, cli: Runner, text: str) -> None:
    write(BASE, name="main.yaml")
    (write("", name="extra.yaml")).write_text(text, encoding="utf-8")
    result = cli("validate")
    assert result.exit_code == 1, result.output
    assert re.search(r"extra\.yaml: the file is empty", result.stderr), result.stderr
    assert "is valid" not in result.stdout
