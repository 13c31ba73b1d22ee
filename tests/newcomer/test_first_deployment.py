"""The first real deployment: a fresh clone with only `.env` filled in (pointing at the
LiveKit stand-in) reaches the worker endpoint with each way of starting the worker,
from the project folder and from another directory; unconfigured, each says which
setting is missing in one line and exits nonzero."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.livekit_double import LiveKitDouble

from .clone import clean_environment, dialtone_argv, run

REGISTER_DEADLINE_S = 120.0  # imports the speech stack on a loaded 2-core machine


@pytest.fixture
def configured(clone: Path) -> Iterator[LiveKitDouble]:
    """`.env` made from `.env.example` with the three LiveKit lines filled in."""
    with LiveKitDouble() as double:
        filled = {
            "LIVEKIT_URL": double.url,
            "LIVEKIT_API_KEY": double.api_key,
            "LIVEKIT_API_SECRET": double.api_secret,
            # a light worker on a shared machine, and no clash on the metrics port
            "DIALTONE_WORKER_IDLE_PROCESSES": "0",
            "DIALTONE_WORKER_METRICS_PORT": "0",
            # the secrets trunks/*.yaml names as ${VAR}
            "CARRIER_SIP_PASSWORD": "x" * 24,
            "CARRIER_API_KEY": "k" * 24,
        }
        lines = []
        for line in (clone / ".env.example").read_text(encoding="utf-8").splitlines():
            name = line.partition("=")[0]
            lines.append(f"{name}={filled.pop(name)}" if name in filled else line)
        lines += [f"{name}={value}" for name, value in filled.items()]
        (clone / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            yield double
        finally:
            (clone / ".env").unlink()


def program(clone: Path, where: str, name: str = "receptionist") -> list[str]:
    path = Path("agents") / f"{name}.py" if where == "project" else clone / "agents" / f"{name}.py"
    return [sys.executable, str(path), "start"]


COMMANDS = {
    "dialtone start": lambda clone, where: dialtone_argv("start"),
    "python agents/receptionist.py start": program,
    "dialtone dev": lambda clone, where: dialtone_argv("dev"),
}


@pytest.mark.parametrize("where", ["project", "elsewhere"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_worker_reaches_livekit(
    command: str, where: str, clone: Path, configured: LiveKitDouble, tmp_path: Path
) -> None:
    cwd = clone if where == "project" else tmp_path
    worker = subprocess.Popen(
        COMMANDS[command](clone, where),
        cwd=cwd,
        env=clean_environment(clone),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # stopped as a group: `dev` runs the worker as a child
    )
    try:
        deadline = time.monotonic() + REGISTER_DEADLINE_S
        while not configured.workers.records and worker.poll() is None:
            assert time.monotonic() < deadline, "the worker never registered"
            time.sleep(0.2)
        registered = [r.agent_name for r in configured.workers.records]
        if not registered:
            said = worker.stdout.read() if worker.stdout else ""
            pytest.fail(f"{command} exited {worker.returncode} without registering:\n{said}")
        assert registered == ["receptionist"]
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGINT)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    output = worker.stdout.read() if worker.stdout else ""
    if where == "elsewhere":
        assert not (tmp_path / "data").exists()  # the data folder is the project's
    if command == "dialtone dev":
        # dialtone reloads on save: livekit-agents' "deprecated, reload removed" misleads
        assert "deprecated" not in output and "auto-reload has been removed" not in output
        assert "restarts this worker when a persona" in output


UNCONFIGURED = {
    "dialtone start": (dialtone_argv("start"), "LIVEKIT_URL"),
    "dialtone reminder start": (dialtone_argv("reminder", "start"), "LIVEKIT_URL"),
    "dialtone dev": (dialtone_argv("dev"), "LIVEKIT_URL"),
    "python agents/receptionist.py start": (
        [sys.executable, "agents/receptionist.py", "start"],
        "LIVEKIT_URL",
    ),
    "python agents/reminder.py start": (
        [sys.executable, "agents/reminder.py", "start"],
        "LIVEKIT_URL",
    ),
    "python agents/receptionist.py dev": (
        [sys.executable, "agents/receptionist.py", "dev"],
        "LIVEKIT_URL",
    ),
}


@pytest.mark.parametrize("command", list(UNCONFIGURED))
def test_unconfigured_is_one_line_and_nonzero(command: str, clone: Path) -> None:
    argv, setting = UNCONFIGURED[command]
    result = run(argv, cwd=clone, env=clean_environment(clone))
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and setting in errors[0], result.stderr


def test_half_configured_names_the_missing_setting(clone: Path) -> None:
    (clone / ".env").write_text("LIVEKIT_URL=ws://127.0.0.1:9\n", encoding="utf-8")
    try:
        result = run(program(clone, "project"), cwd=clone, env=clean_environment(clone))
    finally:
        (clone / ".env").unlink()
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "LIVEKIT_API_KEY, LIVEKIT_API_SECRET" in errors[0], result.stderr


@pytest.mark.parametrize("where", ["project", "elsewhere"])
def test_trunks_plan_reads_the_projects_env(
    where: str, clone: Path, configured: LiveKitDouble, tmp_path: Path
) -> None:
    """LiveKit's address and the trunk files' ${VAR} secrets both come from `.env`."""
    cwd = clone if where == "project" else tmp_path
    result = run(dialtone_argv("trunks", "plan"), cwd=cwd, env=clean_environment(clone))
    assert result.returncode == 2, result.stdout + result.stderr  # 2: changes to make
    assert f"Plan against {configured.url}" in result.stdout
    assert "+ inbound trunk 'carrier-inbound'" in result.stdout
    assert configured.count("ListSIPInboundTrunk") >= 1
