"""trunks/ in sync, dispatch rules' agents, persona numbers and transfer trunks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from livekit.protocol.agent_dispatch import RoomAgentDispatch
from livekit.protocol.room import RoomConfiguration
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    SIPDispatchRule,
    SIPDispatchRuleIndividual,
    SIPDispatchRuleInfo,
)

from dialtone.doctor.result import Status
from tests.livekit_double import LiveKitDouble

from .conftest import Doctor, by_name, cli, failures, sole_failure


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_trunks_out_of_sync_prints_the_diff(
    healthy: LiveKitDouble, deployment: Path, doctor: Doctor
) -> None:
    _edit(deployment / "trunks" / "carrier.yaml", "ringing_timeout: 30s", "ringing_timeout: 45s")
    check = sole_failure(doctor(), "trunks/ in sync")
    assert "1 to update" in check.detail
    assert "carrier-inbound" in check.detail
    assert "dialtone trunks apply" in check.fix


def test_nothing_applied_lists_what_to_create(
    deployment: Path, livekit_double: LiveKitDouble
) -> None:
    result = cli()
    assert result.exit_code == 1
    assert "FAIL  trunks/ in sync" in result.output
    assert "3 to create" in result.output
    assert "FAIL  persona numbers on inbound trunks" in result.output
    assert "+15550100100" in result.output


def test_unreadable_trunk_files_fail_with_the_problem(
    healthy: LiveKitDouble, deployment: Path, doctor: Doctor
) -> None:
    _edit(deployment / "trunks" / "carrier.yaml", "agent: receptionist", "agent: receptonist")
    check = by_name(doctor())["trunks/ in sync"]
    assert check.status is Status.FAIL
    assert "receptonist" in check.detail
    assert "dialtone trunks validate" in check.fix


def test_no_trunks_directory_is_a_skip(
    healthy: LiveKitDouble, deployment: Path, doctor: Doctor
) -> None:
    (deployment / "trunks" / "carrier.yaml").unlink()
    (deployment / "trunks").rmdir()
    report = doctor()
    assert by_name(report)["trunks/ in sync"].status is Status.SKIP
    assert report.ok


def _add_rule(double: LiveKitDouble, agent: str | None) -> None:
    async def run() -> None:
        async with double.client() as lk:
            config = RoomConfiguration(
                agents=[RoomAgentDispatch(agent_name=agent)] if agent else []
            )
            await lk.sip.create_dispatch_rule(
                CreateSIPDispatchRuleRequest(
                    dispatch_rule=SIPDispatchRuleInfo(
                        name="by-hand",
                        numbers=["+15550100999"],
                        rule=SIPDispatchRule(
                            dispatch_rule_individual=SIPDispatchRuleIndividual(room_prefix="x-")
                        ),
                        room_config=config,
                    )
                )
            )

    asyncio.run(run())


def test_dispatch_rule_naming_an_unknown_agent(healthy: LiveKitDouble, doctor: Doctor) -> None:
    _add_rule(healthy, "receptonist")
    check = sole_failure(doctor(), "dispatch rules name dialtone agents")
    assert "'by-hand'" in check.detail and "'receptonist'" in check.detail
    assert "receptionist, reminder" in check.fix


def test_dispatch_rule_without_an_agent(healthy: LiveKitDouble, doctor: Doctor) -> None:
    _add_rule(healthy, None)
    check = by_name(doctor())["dispatch rules name dialtone agents"]
    assert check.status is Status.FAIL
    assert "dispatches no agent" in check.detail


@pytest.mark.parametrize(
    ("persona", "old", "new", "name", "named", "unnamed"),
    [
        (
            "receptionist",
            'numbers: ["+15550100100"]',
            'numbers: ["+15550100100", "+1 555 010 0177"]',
            "persona numbers on inbound trunks",
            ("+15550100177", "'receptionist'"),
            "+15550100100",
        ),
        (
            "reminder",
            "outbound_trunk: carrier-outbound",
            "outbound_trunk: ST_doesNotExist",
            "transfer targets' outbound trunks",
            ("'ST_doesNotExist'", "'reminder'"),
            "carrier-outbound",
        ),
    ],
)
def test_persona_pointing_at_what_livekit_lacks(
    healthy: LiveKitDouble,
    deployment: Path,
    doctor: Doctor,
    persona: str,
    old: str,
    new: str,
    name: str,
    named: tuple[str, ...],
    unnamed: str,
) -> None:
    _edit(deployment / "personas" / f"{persona}.yaml", old, new)
    check = sole_failure(doctor(), name)
    assert all(text in check.detail for text in named), check.detail
    assert unnamed not in check.detail


def test_transfer_target_by_live_id_passes(
    healthy: LiveKitDouble, deployment: Path, doctor: Doctor
) -> None:
    trunk_id = next(iter(healthy.state.outbound_trunks))
    _edit(
        deployment / "personas" / "reminder.yaml",
        "outbound_trunk: carrier-outbound",
        f"outbound_trunk: {trunk_id}",
    )
    assert by_name(doctor())["transfer targets' outbound trunks"].status is Status.PASS


def test_broken_personas_fail_once(
    healthy: LiveKitDouble, deployment: Path, doctor: Doctor
) -> None:
    _edit(deployment / "personas" / "reminder.yaml", "display_name:", "display_nam:")
    report = doctor()
    assert "personas" in failures(report)
    assert "persona numbers on inbound trunks" not in by_name(report)


def test_krisp_on_self_hosted_livekit_is_said_to_do_nothing(
    healthy: LiveKitDouble, doctor: Doctor
) -> None:
    check = by_name(doctor())["noise cancellation on inbound trunks"]
    assert check.status is Status.SKIP
    assert "carrier-inbound" in check.detail
    assert "self-hosted LiveKit SIP ignores it" in check.detail


def test_krisp_on_livekit_cloud_is_noise_cancellation() -> None:
    from livekit.protocol.sip import SIPInboundTrunkInfo

    from dialtone.doctor.config_checks import check_noise_cancellation
    from dialtone.trunkspec.live import LiveState

    live = LiveState(inbound=[SIPInboundTrunkInfo(name="in", krisp_enabled=True)])
    cloud = check_noise_cancellation(live, livekit_url="wss://clinic-x1.livekit.cloud")
    assert cloud.status is Status.PASS and "LiveKit Cloud" in cloud.detail
    assert check_noise_cancellation(LiveState(), livekit_url="ws://x").status is Status.SKIP
