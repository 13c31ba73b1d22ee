"""The worker registers the receptionist and refuses bad configuration before registering."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import TypeVar

import pytest
from livekit.agents.worker import ServerEnvOption

from dialtone.config import ConfigError, load_settings
from dialtone.worker import (
    LOOP_MONITOR_ENV,
    UVLOOP_MODULE,
    GroupLoad,
    apply_job_environment,
    build_server,
    job_environment,
)
from tests.programs import receptionist

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def started(option: T | ServerEnvOption[T]) -> T:
    """An option's value as `dialtone start` (livekit-agents' production mode) reads it."""
    return ServerEnvOption.getvalue(option, devmode=False)


def test_server_registers_the_receptionist() -> None:
    server = build_server(
        load_settings(persona_dir=ROOT / "personas", profile="offline"),
        "receptionist",
        receptionist.entrypoint,
    )
    assert server._agent_name == "receptionist"


def test_missing_persona_directory_fails_before_registering(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DIALTONE_PERSONA_DIR"):
        build_server(
            load_settings(persona_dir=tmp_path, profile="offline"),
            "receptionist",
            receptionist.entrypoint,
        )


def test_half_configured_cloud_profile_fails_before_registering() -> None:
    settings = load_settings(persona_dir=ROOT / "personas", openai_api_key="sk-x", profile="auto")
    with pytest.raises(ConfigError, match="DEEPGRAM_API_KEY"):
        build_server(settings, "receptionist", receptionist.entrypoint)


def test_warning_log_level_is_accepted() -> None:
    """dialtone accepts WARNING (Python's name); livekit-agents spells it WARN."""
    server = build_server(
        load_settings(persona_dir=ROOT / "personas", profile="offline", log_level="WARNING"),
        "receptionist",
        receptionist.entrypoint,
    )
    assert server._log_level == "WARN"


def test_server_gets_the_capacity_settings_not_livekit_defaults() -> None:
    settings = load_settings(persona_dir=ROOT / "personas", profile="offline")
    server = build_server(settings, "receptionist", receptionist.entrypoint)
    assert started(server._load_threshold) == settings.worker_load_threshold
    assert server._job_memory_warn_mb == settings.job_memory_warn_mb
    assert server._job_memory_limit_mb == settings.job_memory_limit_mb
    assert started(server._num_idle_processes) == settings.worker_idle_processes
    # `dev` keeps livekit-agents' development defaults: no load limit, no idle pool
    assert ServerEnvOption.getvalue(server._load_threshold, devmode=True) == math.inf
    assert ServerEnvOption.getvalue(server._num_idle_processes, devmode=True) == 0
    # livekit-agents 1.8.9's defaults: 0.7, 1000 MB, no limit, one idle process per core
    assert (settings.job_memory_warn_mb, settings.job_memory_limit_mb) != (1000, 0)


def test_capacity_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_WORKER_LOAD_THRESHOLD", "0.5")
    monkeypatch.setenv("DIALTONE_JOB_MEMORY_WARN_MB", "250")
    monkeypatch.setenv("DIALTONE_JOB_MEMORY_LIMIT_MB", "0")
    monkeypatch.setenv("DIALTONE_WORKER_IDLE_PROCESSES", "7")
    server = build_server(
        load_settings(persona_dir=ROOT / "personas", profile="offline"),
        "receptionist",
        receptionist.entrypoint,
    )
    assert started(server._load_threshold) == 0.5
    assert (server._job_memory_warn_mb, server._job_memory_limit_mb) == (250, 0)
    assert started(server._num_idle_processes) == 7


def test_a_load_threshold_above_one_is_refused() -> None:
    with pytest.raises(ConfigError, match="DIALTONE_WORKER_LOAD_THRESHOLD"):
        load_settings(worker_load_threshold=1.5)


def test_the_loop_monitor_threshold_reaches_job_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """livekit-agents' loop monitor reads its threshold from the environment in each job
    process; the worker puts the setting there before the forkserver starts."""
    from livekit.agents.telemetry.loop_monitor import LoopMonitorThresholds

    monkeypatch.setenv(LOOP_MONITOR_ENV, "")  # restored after the test
    monkeypatch.delenv(LOOP_MONITOR_ENV)
    assert job_environment(load_settings()) == {}  # unset: livekit-agents' default
    apply_job_environment(load_settings(loop_monitor_warn_ms=250))
    thresholds = LoopMonitorThresholds.from_env()
    assert thresholds is not None and thresholds.warn == 0.25
    apply_job_environment(load_settings(loop_monitor_warn_ms=0))  # already set: it wins
    assert os.environ[LOOP_MONITOR_ENV] == "250"
    del os.environ[LOOP_MONITOR_ENV]
    apply_job_environment(load_settings(loop_monitor_warn_ms=0))
    assert LoopMonitorThresholds.from_env() is None  # 0 turns it off


def test_uvloop_is_preloaded_only_when_asked_for() -> None:
    def preload(**options: object) -> list[str]:
        settings = load_settings(persona_dir=ROOT / "personas", profile="offline", **options)
        return list(
            build_server(settings, "receptionist", receptionist.entrypoint)._preload_modules
        )

    assert UVLOOP_MODULE not in preload()
    assert UVLOOP_MODULE in preload(uvloop=True)
    # what the forkserver's import does to every job process it forks
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import asyncio, {UVLOOP_MODULE}; print(type(asyncio.new_event_loop()).__module__)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip().startswith("uvloop")


def test_uvloop_asked_for_but_missing_fails_before_registering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a)
    )
    settings = load_settings(persona_dir=ROOT / "personas", profile="offline", uvloop=True)
    with pytest.raises(ConfigError, match=r"DIALTONE_UVLOOP.*pip install"):
        build_server(settings, "receptionist", receptionist.entrypoint)


def test_a_worker_group_hosts_its_calls_on_threads_with_ports_of_its_own() -> None:
    from livekit.agents import JobExecutorType

    settings = load_settings(persona_dir=ROOT / "personas", profile="offline", calls_per_process=10)
    server = build_server(settings, "receptionist", receptionist.entrypoint, group=1)
    assert server._job_executor_type is JobExecutorType.THREAD
    assert started(server._port) == settings.worker_health_port + 1 == 8082
    assert server._prometheus_port == settings.worker_metrics_port + 1
    assert Path(str(server._prometheus_multiproc_dir)).parts[-2:] == ("receptionist", "group-1")
    assert started(server._num_idle_processes) == min(settings.worker_idle_processes, 10)
    assert isinstance(server._load_fnc, GroupLoad) and server._load_fnc.calls == 10


def test_without_groups_each_call_gets_a_job_process() -> None:
    from livekit.agents import JobExecutorType

    settings = load_settings(persona_dir=ROOT / "personas", profile="offline", calls_per_process=10)
    server = build_server(settings, "receptionist", receptionist.entrypoint)  # dev, console
    assert server._job_executor_type is JobExecutorType.PROCESS
    assert server._load_fnc is None


class _Server:
    def __init__(self, jobs: int) -> None:
        self.active_jobs = [object()] * jobs


def test_a_group_reports_full_at_its_calls() -> None:
    load = GroupLoad(calls=3, threshold=0.6, cpu_load=lambda _: 0.1)
    # livekit-agents offers a call while the load is below the threshold
    assert [load(_Server(n)) < 0.6 for n in range(4)] == [True, True, True, False]  # type: ignore[arg-type]
    busy = GroupLoad(calls=3, threshold=0.6, cpu_load=lambda _: 0.9)
    assert busy(_Server(0)) == 0.9  # type: ignore[arg-type]  (the machine's CPU still stops it)


def test_start_with_several_calls_per_process_runs_the_groups(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import dialtone.worker as worker

    ran: list[tuple[list[str], int]] = []

    class Supervisor:
        def __init__(self, *, command: list[str], groups: int) -> None:
            ran.append((command, groups))

        def run(self) -> int:
            return 0

    monkeypatch.setattr(worker, "GroupSupervisor", Supervisor)
    code = start_worker(
        monkeypatch, tmp_path, DIALTONE_CALLS_PER_PROCESS="5", DIALTONE_WORKER_GROUPS="3"
    )
    assert code == 0
    assert ran == [([sys.executable, "agents/receptionist.py", "start"], 3)]


def test_the_health_port_setting_reaches_a_worker_without_groups() -> None:
    settings = load_settings(persona_dir=ROOT / "personas", profile="offline")
    server = build_server(settings, "receptionist", receptionist.entrypoint)
    assert started(server._port) == 8081
    anywhere = load_settings(persona_dir=ROOT / "personas", profile="offline", worker_health_port=0)
    server = build_server(anywhere, "receptionist", receptionist.entrypoint)
    assert started(server._port) == 0  # any free port


def test_a_health_port_in_use_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # livekit-agents logs "worker failed" with a traceback and exits 0 when its health
    # port is taken: a supervisor would not even restart it.
    import socket

    ran: list[object] = []
    monkeypatch.setattr("livekit.agents.cli.run_app", ran.append)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code = start_worker(monkeypatch, tmp_path, DIALTONE_WORKER_HEALTH_PORT=port)
    assert code == 1
    assert ran == []
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DIALTONE_WORKER_HEALTH_PORT" in err[0], err


def start_worker(monkeypatch: pytest.MonkeyPatch, project: Path, **env: str) -> int:
    """`python agents/receptionist.py start` with LiveKit and the offline profile set,
    plus `env`; the exit status it ends with."""
    import dialtone.worker as worker
    from dialtone.project import PROJECT_DIR_ENV

    monkeypatch.setattr(sys, "argv", list(sys.argv))  # run_agent takes the command line
    monkeypatch.setenv(PROJECT_DIR_ENV, str(project))  # and exports the project's .env
    monkeypatch.delenv("DIALTONE_WORKER_GROUP", raising=False)
    for name, value in {
        "DIALTONE_PERSONA_DIR": str(ROOT / "personas"),
        "DIALTONE_PROFILE": "offline",
        "LIVEKIT_URL": "ws://livekit.invalid",
        "LIVEKIT_API_KEY": "key",
        "LIVEKIT_API_SECRET": "secret-" * 6,
        **env,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        worker.run_agent(
            "receptionist", receptionist.entrypoint, ["agents/receptionist.py", "start"]
        )
    assert isinstance(stopped.value.code, int)
    return stopped.value.code
