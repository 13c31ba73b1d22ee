"""export: live configuration -> dialtone YAML (adoption) and `lk` JSON files."""

from __future__ import annotations

import asyncio
import json
import os
import string
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import Parse
from livekit.api import LiveKitAPI
from livekit.protocol.agent_dispatch import RoomAgentDispatch
from livekit.protocol.room import RoomConfiguration
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    SIPDispatchRule,
    SIPDispatchRuleIndividual,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPOutboundTrunkInfo,
    SIPTransport,
)

from .conftest import BASE, PASSWORD, Runner, Writer
from .test_sync import writes


def make_by_hand(double: Any) -> None:
    """A set-up made with `lk sip … create`: no dialtone marker anywhere."""

    async def run() -> None:
        api = LiveKitAPI(double.url, double.api_key, double.api_secret)
        try:
            trunk = await api.sip.create_inbound_trunk(
                CreateSIPInboundTrunkRequest(
                    trunk=SIPInboundTrunkInfo(
                        name="Telnyx in",
                        numbers=["+15550100200"],
                        allowed_addresses=["192.76.120.10"],
                        auth_username="telnyx",
                        auth_password=PASSWORD,
                    )
                )
            )
            await api.sip.create_outbound_trunk(
                CreateSIPOutboundTrunkRequest(
                    trunk=SIPOutboundTrunkInfo(
                        name="Telnyx out",
                        address="sip.telnyx.com",
                        transport=SIPTransport.SIP_TRANSPORT_TLS,
                        numbers=["+15550100200"],
                        auth_username="telnyx",
                        auth_password=PASSWORD,
                    )
                )
            )
            await api.sip.create_dispatch_rule(
                CreateSIPDispatchRuleRequest(
                    dispatch_rule=SIPDispatchRuleInfo(
                        name="Telnyx main",
                        trunk_ids=[trunk.sip_trunk_id],
                        numbers=["+15550100200"],
                        rule=SIPDispatchRule(
                            dispatch_rule_individual=SIPDispatchRuleIndividual(room_prefix="tx-")
                        ),
                        room_config=RoomConfiguration(
                            agents=[
                                RoomAgentDispatch(
                                    agent_name="receptionist",
                                    metadata='{"persona":"receptionist"}',
                                )
                            ]
                        ),
                    )
                )
            )
        finally:
            await api.aclose()

    asyncio.run(run())
    double.calls.clear()


def set_placeholders(stderr: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    line = next(x for x in stderr.splitlines() if x.startswith("secrets to set before apply:"))
    names = line.split(":", 1)[1].strip().split(", ")
    for name in names:
        monkeypatch.setenv(name, PASSWORD)
    return names


def test_export_then_adopt_a_hand_made_setup(
    cli: Runner, livekit_double: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_by_hand(livekit_double)
    adopted = tmp_path / "adopted"
    result = cli("export", "--out", str(adopted / "telnyx.yaml"))
    assert result.exit_code == 0, result.output
    text = (adopted / "telnyx.yaml").read_text()
    assert PASSWORD not in text + result.output
    assert "password: ${DIALTONE_INBOUND_TELNYX_IN_PASSWORD}" in text
    names = set_placeholders(result.stderr, monkeypatch)
    assert names == ["DIALTONE_INBOUND_TELNYX_IN_PASSWORD", "DIALTONE_OUTBOUND_TELNYX_OUT_PASSWORD"]

    assert cli("validate", directory=adopted).exit_code == 0
    refused = cli("plan", directory=adopted)
    assert refused.exit_code == 1 and "--adopt" in refused.stderr
    plan = cli("plan", "--adopt", "--json", directory=adopted)
    assert plan.exit_code == 2
    changes = json.loads(plan.stdout)["changes"]
    assert [c["adopt"] for c in changes] == [True, True, True]
    # Adoption changes nothing but the marker: every field matched the export.
    assert {f["field"] for c in changes for f in c["fields"]} == {"source"}
    assert cli("apply", "--yes", "--adopt", directory=adopted).exit_code == 0
    assert writes(livekit_double) == [
        "UpdateSIPInboundTrunk",
        "UpdateSIPOutboundTrunk",
        "UpdateSIPDispatchRule",
    ]
    assert cli("plan", directory=adopted).exit_code == 0


def test_export_of_a_dialtone_setup_round_trips(
    write: Writer,
    cli: Runner,
    livekit_double: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write(BASE)
    assert cli("apply", "--yes").exit_code == 0
    exported = tmp_path / "exported"
    result = cli("export", "--out", str(exported / "carrier.yaml"))
    assert result.exit_code == 0
    set_placeholders(result.stderr, monkeypatch)
    plan = cli("plan", directory=exported)
    assert plan.exit_code == 0, plan.output  # same file name, same content: nothing to do


def test_lk_json_files_are_create_requests_without_secrets(
    write: Writer,
    cli: Runner,
    livekit_double: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write(BASE.replace("agent: receptionist", 'pin: "4321"\n    agent: receptionist'))
    assert cli("apply", "--yes").exit_code == 0
    out = tmp_path / "lk"
    result = cli("export", "--out", str(tmp_path / "x.yaml"), "--lk-json", str(out))
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "inbound-carrier-inbound.json",
        "outbound-carrier-outbound.json",
        "rule-main-line.json",
    ]
    raw = "".join((out / f).read_text() for f in files)
    assert PASSWORD not in raw and "4321" not in raw
    inbound = Parse((out / files[0]).read_text(), CreateSIPInboundTrunkRequest())
    assert inbound.trunk.sip_trunk_id == ""
    assert inbound.trunk.auth_password == "${DIALTONE_INBOUND_CARRIER_INBOUND_PASSWORD}"
    assert list(inbound.trunk.numbers) == ["+15550100100", "+15550100101"]
    rule = Parse((out / files[2]).read_text(), CreateSIPDispatchRuleRequest())
    assert rule.dispatch_rule.rule.dispatch_rule_individual.pin == "${DIALTONE_RULE_MAIN_LINE_PIN}"
    assert rule.dispatch_rule.room_config.agents[0].agent_name == "receptionist"
    outbound = Parse((out / files[1]).read_text(), CreateSIPOutboundTrunkRequest())
    assert outbound.trunk.transport == SIPTransport.SIP_TRANSPORT_TLS

    # What `envsubst < file | lk sip outbound create -` does, against a fresh server.
    monkeypatch.setenv("DIALTONE_OUTBOUND_CARRIER_OUTBOUND_PASSWORD", PASSWORD)
    filled = string.Template((out / files[1]).read_text()).substitute(os.environ)
    request = Parse(filled, CreateSIPOutboundTrunkRequest())
    assert request.trunk.auth_password == PASSWORD

    async def create() -> str:
        api = LiveKitAPI(livekit_double.url, livekit_double.api_key, livekit_double.api_secret)
        try:
            return (await api.sip.create_outbound_trunk(request)).sip_trunk_id
        finally:
            await api.aclose()

    assert asyncio.run(create())
