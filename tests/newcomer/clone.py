"""A fresh clone of this checkout, and the newcomer's commands run in it as subprocesses.

The clone is a copy of the files git would check out (tracked, plus new files not yet
ignored), so `dialtone` imported in it (PYTHONPATH) finds its project folder there,
exactly as in a clone with an editable install. Commands run with none of the
developer's LiveKit, provider or dialtone variables: only what the test gives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The folders a deployment needs (the tests and docs are not copied: nothing reads them)
NEEDED = ("dialtone/", "agents/", "personas/", "trunks/", ".env.example", "pyproject.toml")


def make_clone(target: Path) -> Path:
    """Copy the checkout's deployable files (as git sees them) into `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        if not name.startswith(NEEDED) or not (ROOT / name).is_file():
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, destination)
    return target


def clean_environment(clone: Path, **extra: str) -> dict[str, str]:
    """The environment of a newcomer's shell: no LIVEKIT_*, provider or DIALTONE_* set."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LIVEKIT_", "DIALTONE_", "OPENAI_", "DEEPGRAM_"))
    }
    # Workers started by tests running side by side would all take livekit-agents' health
    # port (8081): each takes a free one instead.
    return {**keep, "PYTHONPATH": str(clone), "DIALTONE_WORKER_HEALTH_PORT": "0", **extra}


def dialtone_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "dialtone", *args]


def run(
    argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
