"""`--prune` that would delete every managed object of a kind, or most of them, is refused.

A truncated trunk file (a bad merge, an editor crash) looks like "delete everything" to
a plain diff; the guard makes that need `--allow-mass-delete`, and `plan` says so.
"""

from __future__ import annotations

import json
from typing import Any

from .conftest import BASE, Runner, Writer
from .test_sync import applied, writes

TRUNCATED = BASE[: BASE.index("dispatch_rules:")].replace(
    BASE[BASE.index("inbound_trunks:") : BASE.index("outbound_trunks:")], ""
)


def inbound(name: str, number: str) -> str:
    return f'  - name: {name}\n    numbers: ["{number}"]\n    allowed_addresses: [54.172.60.0/30]\n'


THREE = "inbound_trunks:\n" + "".join(inbound(f"line-{n}", f"+1555010020{n}") for n in range(3))


def test_truncated_file_prune_is_refused_without_the_flag(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    applied(write, cli, livekit_double)
    write(TRUNCATED)
    assert "outbound_trunks:" in TRUNCATED and "inbound_trunks:" not in TRUNCATED
    result = cli("plan", "--prune")
    assert result.exit_code == 1, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("Plan: 0 to create, 0 to update, 2 to delete."), summary
    assert "--allow-mass-delete" in summary
    assert "every managed inbound trunk (1 of 1)" in result.stdout
    assert "every managed dispatch rule (1 of 1)" in result.stdout

    refused = cli("apply", "--yes", "--prune")
    assert refused.exit_code == 1, refused.output
    assert "--allow-mass-delete" in refused.output
    assert writes(livekit_double) == []  # nothing applied
    assert len(livekit_double.state.inbound_trunks) == 1


def test_the_flag_allows_it(write: Writer, cli: Runner, livekit_double: Any) -> None:
    applied(write, cli, livekit_double)
    write(TRUNCATED)
    assert cli("plan", "--prune", "--allow-mass-delete").exit_code == 2
    result = cli("apply", "--yes", "--prune", "--allow-mass-delete")
    assert result.exit_code == 0, result.output
    assert writes(livekit_double) == ["DeleteSIPDispatchRule", "DeleteSIPTrunk"]


def test_more_than_half_of_a_kind_is_refused_half_is_not(
    write: Writer, cli: Runner, livekit_double: Any
) -> None:
    applied(write, cli, livekit_double, THREE)
    write("inbound_trunks:\n" + inbound("line-0", "+15550100200"))
    result = cli("plan", "--prune", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert data["summary"] == {"create": 0, "update": 0, "delete": 2}
    (reason,) = data["refused"]
    assert "2 of 3 managed inbound trunks" in reason and "more than 50 %" in reason

    write(
        "inbound_trunks:\n" + inbound("line-0", "+15550100200") + inbound("line-1", "+15550100201")
    )
    allowed = cli("plan", "--prune")
    assert allowed.exit_code == 2, allowed.output
    assert "--allow-mass-delete" not in allowed.stdout


def test_without_prune_nothing_is_guarded(write: Writer, cli: Runner, livekit_double: Any) -> None:
    applied(write, cli, livekit_double)
    write(TRUNCATED)
    result = cli("plan")
    assert result.exit_code == 0, result.output
    assert "kept; --prune deletes them" in result.stdout
