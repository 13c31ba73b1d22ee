"""plan / apply / prune / adopt against the LiveKit API double, through the real client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from livekit.api import LiveKitAPI
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    SIPDispatchRule,
    SIPDispatchRuleDirect,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
)

from dialtone.trunkspec.apply import apply_plan
from dialtone.trunkspec.convert import parse_marker
from dialtone.trunkspec.live import read_live
from dialtone.trunkspec.loader import load_directory
from dialtone.trunkspec.plan import compute_plan
from dialtone.wire import KNOWN_AGENT_NAMES
from tests.livekit_double import LiveKitDouble

from .conftest import BASE, PASSWORD, Runner, Writer

WRITES = (
    "CreateSIPInboundTrunk",
    "CreateSIPOutboundTrunk",
    "CreateSIPDispatchRule",
    "UpdateSIPInboundTrunk",
    "UpdateSIPOutboundTrunk",
    "UpdateSIPDispatchRule",
    "DeleteSIPTrunk",
    "DeleteSIPDispatchRule",
)


def methods(double: Any) -> list[str]:
    return [getattr(c, "method", c) for c in double.calls]


def writes(double: Any) -> list[str]:
    return [m for m in methods(double) if m in WRITES]


def applied(write: Writer, cli: Runner, double: Any, text: str = BASE) -> None:
    write(text)
    result = cli("apply", "--yes")
    assert result.exit_code == 0, result.output
    double.calls.clear()


def create_unmanaged(double: Any, name: str, number: str) -> str:
    """A trunk made by hand (`lk sip inbound create`): no ownership marker."""

    async def create() -> str:
        api = LiveKitAPI(double.url, double.api_key, double.api_secret)
        try:
            info = await api.sip.create_inbound_trunk(
                CreateSIPInboundTrunkRequest(
                    trunk=SIPInboundTrunkInfo(name=name, numbers=[number], metadata="hand-made")
                )
            )
        finally:
            await api.aclose()
        return info.sip_trunk_id

    trunk_id = asyncio.run(create())
    double.calls.clear()
    return trunk_id


def test_first_plan_creates_everything(write: Writer, cli: Runner, livekit_double: Any) -> None:
    write(BASE)
    result = cli("plan")
    assert result.exit_code == 2, result.output
    out = result.stdout
    assert "+ inbound trunk 'carrier-inbound'  (carrier.yaml)" in out
    assert "+ outbound trunk 'carrier-outbound'" in out
    assert "+ dispatch rule 'main-line'" in out
    assert 'numbers: ["+15550100100", "+15550100101"]' in out
    assert "auth.password: ********" in out
    assert "Plan: 3 to create, 0 to update, 0 to delete." in out
    assert writes(livekit_double) == []  # plan never writes


def test_plan_json_lists_changes_in_safe_order(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    write(BASE)
    result = cli("plan", "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert [(c["action"], c["kind"]) for c in data["changes"]] == [
        ("create", "inbound_trunk"),
        ("create", "outbound_trunk"),
        ("create", "dispatch_rule"),
    ]
    assert data["summary"] == {"create": 3, "update": 0, "delete": 0}


def test_apply_one_call_per_change_then_zero(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    write(BASE)
    result = cli("apply", "--yes")
    assert result.exit_code == 0, result.output
    assert writes(livekit_double) == [
        "CreateSIPInboundTrunk",
        "CreateSIPOutboundTrunk",
        "CreateSIPDispatchRule",
    ]
    assert "Applied 3 changes." in result.stdout

    state = livekit_double.state
    (rule,) = state.dispatch_rules.values()
    (inbound,) = state.inbound_trunks.values()
    assert list(rule.trunk_ids) == [inbound.sip_trunk_id]
    assert rule.room_config.agents[0].agent_name == "receptionist"
    assert json.loads(rule.room_config.agents[0].metadata) == {"persona": "receptionist"}
    assert rule.rule.dispatch_rule_individual.room_prefix == "call-"
    assert inbound.auth_password == PASSWORD  # the server did get it
    marker = parse_marker(inbound.metadata)
    assert marker is not None and marker.source == "carrier.yaml"
    assert PASSWORD not in inbound.metadata
    assert marker.secrets["auth.password"].startswith("scrypt$")

    livekit_double.calls.clear()
    again = cli("apply", "--yes")
    assert again.exit_code == 0
    assert "No changes" in again.stdout
    assert writes(livekit_double) == []
    assert cli("plan").exit_code == 0


def test_update_shows_each_changed_field_and_makes_one_call(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    applied(write, cli, livekit_double)
    write(BASE.replace("transport: tls", "transport: tcp").replace("krisp: true", "krisp: false"))
    result = cli("plan")
    assert result.exit_code == 2
    assert "~ inbound trunk 'carrier-inbound'  ST_" in result.stdout
    assert "krisp: true -> false" in result.stdout
    assert 'transport: "tls" -> "tcp"' in result.stdout
    assert "Plan: 0 to create, 2 to update, 0 to delete." in result.stdout
    assert cli("apply", "--yes").exit_code == 0
    assert writes(livekit_double) == ["UpdateSIPInboundTrunk", "UpdateSIPOutboundTrunk"]
    assert cli("plan").exit_code == 0


def test_update_keeps_fields_dialtone_does_not_manage(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    applied(write, cli, livekit_double)
    (inbound,) = livekit_double.state.inbound_trunks.values()
    inbound.auth_realm = "carrier.example"  # set by hand in the dashboard
    write(BASE.replace("krisp: true", "krisp: false"))
    assert cli("apply", "--yes").exit_code == 0
    (inbound,) = livekit_double.state.inbound_trunks.values()
    assert inbound.auth_realm == "carrier.example"
    assert inbound.krisp_enabled is False


def test_secret_change_is_detected_not_shown(
    write: Writer, cli: Runner, livekit_double: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(write, cli, livekit_double)
    monkeypatch.setenv("CARRIER_SIP_PASSWORD", "another-canary-value-99")
    result = cli("plan", "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    fields = [f for c in data["changes"] for f in c["fields"]]
    assert {f["field"] for f in fields} == {"auth.password"}
    assert all(f["new"] == "********" for f in fields)
    text = cli("plan").stdout
    assert "auth.password: (secret changed)" in text
    assert "another-canary-value-99" not in text + result.stdout


def test_redacted_live_password_is_compared_by_fingerprint(
    write: Writer, cli: Runner, livekit_double: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(write, cli, livekit_double)
    for trunk in [
        *livekit_double.state.inbound_trunks.values(),
        *livekit_double.state.outbound_trunks.values(),
    ]:
        trunk.auth_password = ""  # what LiveKit Cloud may return
    assert cli("plan").exit_code == 0
    monkeypatch.setenv("CARRIER_SIP_PASSWORD", "rotated-password-value-1")
    result = cli("plan")
    assert result.exit_code == 2
    assert result.stdout.count("auth.password: (secret changed)") == 2


def test_prune_deletes_rules_before_trunks(write: Writer, cli: Runner, livekit_double: Any) -> None:
    applied(write, cli, livekit_double)
    write("outbound_trunks:" + BASE.split("outbound_trunks:")[1].split("dispatch_rules:")[0])
    kept = cli("plan")
    assert kept.exit_code == 0, kept.output  # nothing to do without --prune
    assert "no longer in the files (kept; --prune deletes them)" in kept.stdout
    assert "inbound trunk 'carrier-inbound'" in kept.stdout
    # Every managed inbound trunk and rule goes: that needs --allow-mass-delete.
    pruned = cli("plan", "--prune", "--allow-mass-delete")
    assert pruned.exit_code == 2
    assert "- dispatch rule 'main-line'  SDR_" in pruned.stdout
    assert cli("apply", "--yes", "--prune", "--allow-mass-delete").exit_code == 0
    assert writes(livekit_double) == ["DeleteSIPDispatchRule", "DeleteSIPTrunk"]
    assert livekit_double.state.inbound_trunks == {}
    assert len(livekit_double.state.outbound_trunks) == 1
    assert cli("plan", "--prune").exit_code == 0


def test_unmanaged_objects_are_listed_never_touched(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    legacy = create_unmanaged(livekit_double, "legacy", "+15550199999")
    write(BASE)
    result = cli("plan", "--prune")
    assert "Not managed by dialtone (listed, never touched):" in result.stdout
    assert f"inbound trunk 'legacy'  {legacy}" in result.stdout
    assert cli("apply", "--yes", "--prune").exit_code == 0
    assert livekit_double.state.inbound_trunks[legacy].metadata == "hand-made"
    assert "DeleteSIPTrunk" not in writes(livekit_double)


def test_name_taken_by_unmanaged_object_is_an_error_until_adopted(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    legacy = create_unmanaged(livekit_double, "carrier-inbound", "+15550100100")
    write(BASE)
    result = cli("plan")
    assert result.exit_code == 1
    assert f"a live inbound trunk named 'carrier-inbound' ({legacy}) was not created" in (
        result.stderr
    )
    assert "--adopt" in result.stderr
    adopt = cli("plan", "--adopt")
    assert adopt.exit_code == 2, adopt.output
    assert f"~ inbound trunk 'carrier-inbound'  {legacy}  (carrier.yaml)  [adopt" in adopt.stdout
    livekit_double.calls.clear()
    assert cli("apply", "--yes", "--adopt").exit_code == 0
    assert writes(livekit_double)[0] == "UpdateSIPInboundTrunk"
    assert parse_marker(livekit_double.state.inbound_trunks[legacy].metadata) is not None
    assert cli("plan").exit_code == 0


def test_plan_sees_conflicts_with_unmanaged_live_trunks(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    create_unmanaged(livekit_double, "legacy", "1 (555) 010-0101")
    write(BASE)
    result = cli("plan")
    assert result.exit_code == 1
    assert "conflicts with live inbound trunk 'legacy'" in result.stderr
    assert writes(livekit_double) == []


def test_partial_failure_stops_reports_and_converges(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    write(BASE)
    livekit_double.faults.inject(method="CreateSIPOutboundTrunk", nth=1, code="invalid_argument")
    result = cli("apply", "--yes")
    assert result.exit_code == 1
    err = result.stderr
    assert "+ inbound trunk 'carrier-inbound'  ST_" in result.output
    assert "+ outbound trunk 'carrier-outbound'  FAILED: invalid_argument" in err
    assert "Not applied (stopped at the failure):\n  + dispatch rule 'main-line'" in err
    assert "Applied 1 of 3 changes." in err
    assert writes(livekit_double) == ["CreateSIPInboundTrunk", "CreateSIPOutboundTrunk"]

    livekit_double.calls.clear()
    rerun = cli("apply", "--yes")
    assert rerun.exit_code == 0, rerun.output
    assert writes(livekit_double) == ["CreateSIPOutboundTrunk", "CreateSIPDispatchRule"]
    assert cli("plan").exit_code == 0


def test_apply_refuses_without_yes_when_not_interactive(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    write(BASE)
    result = cli("apply")
    assert result.exit_code == 1
    assert "--yes" in result.stderr
    assert writes(livekit_double) == []


def test_missing_livekit_credentials_are_named(
    write: Writer, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    write(BASE)
    result = cli("plan")
    assert result.exit_code == 1
    assert "LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET not set" in result.stderr


def test_moving_a_number_between_trunks_releases_it_first(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    # "another-inbound" sorts before "carrier-inbound": only the release-first order works.
    two = BASE.replace(
        "outbound_trunks:",
        """  - name: another-inbound
    numbers: ["+15550100102"]
    allowed_addresses: [192.0.2.0/24]
outbound_trunks:""",
    )
    applied(write, cli, livekit_double, two)
    moved = two.replace('"+15550100100", "+15550100101"', '"+15550100100"').replace(
        '["+15550100102"]', '["+15550100102", "+15550100101"]'
    )
    write(moved)
    result = cli("apply", "--yes")
    assert result.exit_code == 0, result.output
    updates = [m for m in writes(livekit_double) if m == "UpdateSIPInboundTrunk"]
    assert len(updates) == 2
    assert result.stdout.index("~ inbound trunk 'carrier-inbound'") < result.stdout.index(
        "~ inbound trunk 'another-inbound'"
    )
    assert cli("plan").exit_code == 0


def test_prune_warns_about_unmanaged_rules_left_dangling(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    applied(write, cli, livekit_double)
    (inbound,) = livekit_double.state.inbound_trunks.values()

    async def hand_made_rule() -> None:
        api = LiveKitAPI(livekit_double.url, livekit_double.api_key, livekit_double.api_secret)
        try:
            await api.sip.create_dispatch_rule(
                CreateSIPDispatchRuleRequest(
                    dispatch_rule=SIPDispatchRuleInfo(
                        name="by-hand",
                        trunk_ids=[inbound.sip_trunk_id],
                        rule=SIPDispatchRule(
                            dispatch_rule_direct=SIPDispatchRuleDirect(room_name="x")
                        ),
                    )
                )
            )
        finally:
            await api.aclose()

    asyncio.run(hand_made_rule())
    write("outbound_trunks:" + BASE.split("outbound_trunks:")[1].split("dispatch_rules:")[0])
    result = cli("plan", "--prune", "--allow-mass-delete")
    assert result.exit_code == 2
    assert (
        "dispatch rule 'by-hand'" in result.stderr + result.stdout
        and "which --prune deletes" in result.stdout
    )


def test_cloud_style_redacted_passwords_converge(
    write: Writer, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LiveKitDouble(redact_passwords=True) as double:
        monkeypatch.setenv("LIVEKIT_URL", double.url)
        monkeypatch.setenv("LIVEKIT_API_KEY", double.api_key)
        monkeypatch.setenv("LIVEKIT_API_SECRET", double.api_secret)
        write(BASE)
        assert cli("apply", "--yes").exit_code == 0
        double.calls.clear()
        assert cli("plan").exit_code == 0  # verified against the fingerprints
        monkeypatch.setenv("CARRIER_SIP_PASSWORD", "rotated-password-value-2")
        result = cli("apply", "--yes")
        assert result.exit_code == 0, result.output
        assert result.stdout.count("auth.password: (secret changed)") == 2
        assert writes(double) == ["UpdateSIPInboundTrunk", "UpdateSIPOutboundTrunk"]
        (inbound,) = double.state.inbound_trunks.values()
        assert inbound.auth_password == "rotated-password-value-2"  # stored, not returned
        assert cli("plan").exit_code == 0


def test_dropped_connection_stops_and_rerun_converges(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    write(BASE)
    livekit_double.faults.inject(method="CreateSIPDispatchRule", nth=1, drop=True)
    result = cli("apply", "--yes")
    assert result.exit_code == 1
    assert "+ dispatch rule 'main-line'  FAILED:" in result.stderr
    assert "Applied 2 of 3 changes." in result.stderr
    livekit_double.calls.clear()
    assert cli("apply", "--yes").exit_code == 0
    assert writes(livekit_double) == ["CreateSIPDispatchRule"]


class _AnswerLost:
    """The server does the work but the answer never arrives (timeout after commit)."""

    def __init__(self, sip: Any, method: str) -> None:
        self._sip = sip
        self._method = method

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._sip, name)
        if name != self._method:
            return target

        async def lost(*args: Any, **kwargs: Any) -> Any:
            await target(*args, **kwargs)
            raise TimeoutError("no answer")

        return lost


def test_a_create_whose_answer_was_lost_is_not_made_twice(
    write: Writer, livekit_double: Any, trunk_dir: Path
) -> None:
    write(BASE)

    async def run(lose: str | None) -> Any:
        state = load_directory(trunk_dir)
        api = LiveKitAPI(livekit_double.url, livekit_double.api_key, livekit_double.api_secret)
        try:
            sip: Any = _AnswerLost(api.sip, lose) if lose else api.sip
            plan = compute_plan(
                state,
                await read_live(api.sip),
                agent_names=KNOWN_AGENT_NAMES,
                personas={"receptionist"},
            )
            return plan, await apply_plan(plan, state, sip)
        finally:
            await api.aclose()

    _plan, report = asyncio.run(run("create_outbound_trunk"))
    assert not report.ok and report.error == "TimeoutError: no answer"
    assert [c.name for c in report.not_applied] == ["main-line"]
    plan, report = asyncio.run(run(None))
    assert report.ok
    assert [(c.action.value, c.name) for c in plan.changes] == [("create", "main-line")]
    assert len(livekit_double.state.outbound_trunks) == 1


def test_a_hung_server_times_out_and_rerun_converges(
    write: Writer, cli: Runner, livekit_double: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dialtone.trunkspec.apply as apply_module

    monkeypatch.setattr(apply_module, "CALL_TIMEOUT_S", 0.3)
    write(BASE)
    livekit_double.faults.inject(method="CreateSIPOutboundTrunk", nth=1, delay=3.0)
    result = cli("apply", "--yes")
    assert result.exit_code == 1
    assert "FAILED: no answer from LiveKit within 0.3s" in result.stderr
    assert "Not applied (stopped at the failure):\n  + dispatch rule 'main-line'" in result.stderr

    monkeypatch.setattr(apply_module, "CALL_TIMEOUT_S", 30.0)
    rerun = cli("apply", "--yes")
    assert rerun.exit_code == 0, rerun.output
    assert cli("plan").exit_code == 0
