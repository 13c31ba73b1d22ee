"""Named fault points: the armed arrival kills the process there, and only that one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

SCRIPT = """
from dialtone.faults import fault_point
for i in range(1, 4):
    print(i, flush=True)
    fault_point("step")
    fault_point("other")
print("survived", flush=True)
"""


def run(faults: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DIALTONE_FAULTS"}
    if faults is not None:
        env["DIALTONE_FAULTS"] = faults
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_armed_arrival_is_killed_like_kill_9() -> None:
    done = run("step@2")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["1", "2"]  # killed at the second arrival, not before


def test_unarmed_or_other_points_do_nothing() -> None:
    assert run(None).stdout.split()[-1] == "survived"
    assert run("elsewhere@1").stdout.split()[-1] == "survived"
