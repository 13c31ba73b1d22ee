"""The livekit-agents worker around one agent program.

An agent program (`agents/receptionist.py`, `agents/reminder.py`) is a plain Python file
with an `entrypoint` and an agent name; `run_agent` turns it into a worker and hands the
command line to livekit-agents, so `python agents/receptionist.py start` behaves like any
LiveKit agent. Settings and personas are checked before registering, so a bad profile
fails at start-up with the variable to fix, not on the first call.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from livekit.agents import AgentServer, JobContext, JobExecutorType, JobProcess
from livekit.agents.worker import ServerEnvOption

# livekit-agents requires plugins to register on the main thread; console mode runs the
# job on another thread, so they are imported here, when the worker module loads.
from livekit.plugins import deepgram, openai  # noqa: F401  (the VAD is the framework's own)
from pydantic import SecretStr

from .config import ConfigError, Settings, load_settings
from .personas import PersonaBook
from .pipeline import load_vad
from .project import PROJECT_DIR_ENV, env_file, project_dir
from .records.job import worker_metrics_dir
from .voices import check_voices
from .wire import KNOWN_AGENT_NAMES
from .worker_groups import GroupSupervisor, group_index

Entrypoint = Callable[[JobContext], Awaitable[None]]

# What a job process imports to answer or place a call (agent programs import these).
# livekit-agents' forkserver preloads only the plugins: without this list every call's
# process imported dialtone itself after the fork, which cost it time and its own
# private copy of these modules instead of the pages the forkserver shares.
JOB_MODULES = (
    "dialtone.worker",
    "dialtone.inbound.entry",
    "dialtone.outbound.entry",
    "dialtone.offline.dialogue",
    "dialtone.offline.stt",
    "dialtone.offline.tts",
    "dialtone.telephony.dtmf",
    "dialtone.telephony.hold",
    # last: reads the settings and personas with everything above imported, and loads
    # the call record's database driver
    "dialtone.job_warmup",
)


def prewarm(proc: JobProcess) -> None:
    """Load the VAD once per job process, so a call does not wait for it."""
    proc.userdata["vad"] = load_vad()


def capacity_options(settings: Settings) -> dict[str, Any]:
    """How many calls a worker takes and how big a call's process may grow.

    The figures come from `bench/call_capacity.py --shape production` (docs/operating.md,
    "Sizing", has the tables and commands); livekit-agents' defaults are sized for
    anything, these for a phone call:

    - `load_threshold` 0.6: the worker takes no new call while the machine's CPU load
      (livekit-agents' 2.5 s average) is above it. Calls arrive in bursts while that
      average lags 2.5 s, and the bench's fakes do none of a real provider's TLS and
      websocket work: 0.6 keeps a margin livekit-agents' 0.7 does not. How many calls
      that admits depends on the CPU a call costs (docs/operating.md, "Sizing", has the
      measured figures and the conditions they were measured in).
    - `job_memory_warn_mb` 500 / `job_memory_limit_mb` 1000: livekit-agents watches a
      job process's PSS (shared pages divided among the processes sharing them, so it
      is largest when a worker has one call: 280 MB measured; about 60 MB each at 30
      calls; the offline recogniser is a process of its own and not counted). 500
      warns of a job nearly twice as big as the largest measured (a leak, a runaway
      conversation: a call grows some MB per minute); 1000 kills a runaway before it
      takes the worker's other calls down with it (livekit-agents' default: no limit).
    - `num_idle_processes` 4: a call that finds no warm process waits for one to fork
      and prewarm (0.06-0.15 s measured, about 1 s for the first, which starts the
      forkserver); four ready processes (10 MB of private memory each) answer a burst
      of calls (a campaign starting, a clinic opening) without that wait.
    """
    return {
        # `dev` keeps livekit-agents' development behaviour: no load limit, no idle pool
        "load_threshold": ServerEnvOption(
            dev_default=math.inf, prod_default=settings.worker_load_threshold
        ),
        "job_memory_warn_mb": settings.job_memory_warn_mb,
        "job_memory_limit_mb": settings.job_memory_limit_mb,
        "num_idle_processes": ServerEnvOption(
            dev_default=0, prod_default=settings.worker_idle_processes
        ),
    }


class GroupLoad:
    """A worker group's load: the machine's CPU load, or its share of `calls` taken.

    livekit-agents offers a worker a call while its load is below the threshold, and
    counts the calls it has accepted but not yet started: at `calls` calls (started or
    promised) this reaches the threshold, so a group takes no more than `calls`; the
    machine's CPU load still stops every group first when the calls cost more than
    measured.
    """

    def __init__(self, *, calls: int, threshold: float, cpu_load: Callable[[AgentServer], float]):
        self.calls = calls
        self.threshold = threshold
        self.cpu_load = cpu_load

    def __call__(self, server: AgentServer) -> float:
        share = self.threshold * len(server.active_jobs) / self.calls
        return max(self.cpu_load(server), share)


def group_options(settings: Settings, group: int | None) -> dict[str, Any]:
    """How a worker group differs from a worker with a job process per call.

    Calls run on livekit-agents' thread job executor (each call a thread with its own
    event loop, in this one process), at most `DIALTONE_CALLS_PER_PROCESS` of them
    (`GroupLoad`); the health and metrics ports and the metrics folder are the group's
    own, since the groups of one machine run side by side. livekit-agents enforces its
    job memory limits on job processes only: a group is watched as one process.
    """
    if group is None:  # one worker, a job process per call (`dev`, `console`, or K = 1)
        # `start` listens on the setting (0: any free port); `dev` on any free port
        return {"port": ServerEnvOption(dev_default=0, prod_default=health_port(settings, group))}
    from livekit.agents.worker import _DefaultLoadCalc  # the CPU load it uses by default

    return {
        "job_executor_type": JobExecutorType.THREAD,
        "load_fnc": GroupLoad(
            calls=settings.calls_per_process,
            threshold=settings.worker_load_threshold,
            cpu_load=_DefaultLoadCalc.get_load,
        ),
        "num_idle_processes": ServerEnvOption(
            dev_default=0,
            prod_default=min(settings.worker_idle_processes, settings.calls_per_process),
        ),
        # livekit-agents' health check: group i on DIALTONE_WORKER_HEALTH_PORT + i
        "port": health_port(settings, group),
    }


#: livekit-agents' loop monitor reads its warn threshold from here in each job process.
LOOP_MONITOR_ENV = "LIVEKIT_AGENTS_LOOP_BLOCK_WARN_MS"
#: Imported by the forkserver when `DIALTONE_UVLOOP` is on: job processes run on uvloop.
UVLOOP_MODULE = "dialtone.fast_loop"


def job_environment(settings: Settings) -> dict[str, str]:
    """Variables job processes must inherit (set before the forkserver starts).

    `DIALTONE_LOOP_MONITOR_WARN_MS`: livekit-agents' loop monitor wakes every fifth of
    its warn threshold (20 ms at its 100 ms default, at most 50 ms), a heartbeat on the
    loop and a watchdog thread each time, in every job process; 250 wakes it every
    50 ms and reports blocks from 250 ms; 0 turns it off. Unset: livekit-agents'
    default. A variable already in the environment wins.
    """
    if settings.loop_monitor_warn_ms is None:
        return {}
    return {LOOP_MONITOR_ENV: f"{settings.loop_monitor_warn_ms:g}"}


def apply_job_environment(settings: Settings) -> None:
    for name, value in job_environment(settings).items():
        os.environ.setdefault(name, value)


def build_server(
    settings: Settings, agent_name: str, entrypoint: Entrypoint, *, group: int | None = None
) -> AgentServer:
    """The worker for one agent name; settings are checked here, before registering.

    livekit-agents 1.8.9's AgentServer serves one agent name per process (a second
    `rtc_session` raises), so the receptionist and the reminder are separate workers.
    `group` is this worker's index among the worker groups (`dialtone.worker_groups`).
    """
    if agent_name not in KNOWN_AGENT_NAMES:
        raise ConfigError(
            f"unknown agent {agent_name!r}; known: {', '.join(sorted(KNOWN_AGENT_NAMES))}"
        )
    _ = settings.resolved_profile
    check_voices(PersonaBook.load(settings.persona_dir, settings.default_persona), settings)
    if settings.uvloop and importlib.util.find_spec("uvloop") is None:
        # else every job process's fork would fail on the forkserver's import
        raise ConfigError(
            "DIALTONE_UVLOOP is on but uvloop is not installed: "
            "pip install 'dialtone[uvloop]' or unset DIALTONE_UVLOOP"
        )
    metrics_dir = worker_metrics_dir(settings) / agent_name
    metrics_port = settings.worker_metrics_port
    if group is not None:
        metrics_dir = metrics_dir / f"group-{group}"
        metrics_port = metrics_port + group if metrics_port else 0
    server = AgentServer(
        setup_fnc=prewarm,
        preload_modules=[*JOB_MODULES, *([UVLOOP_MODULE] if settings.uvloop else [])],
        # livekit-agents spells Python's WARNING as WARN and refuses the former
        log_level="WARN" if settings.log_level == "WARNING" else settings.log_level,
        **{**capacity_options(settings), **group_options(settings, group)},
        # Each call runs in a job process; their metrics meet in multiprocess files (one
        # directory per agent name, and per group: each worker empties its own when it
        # starts).
        prometheus_port=metrics_port or None,
        prometheus_multiproc_dir=str(metrics_dir),
    )
    server.rtc_session(entrypoint, agent_name=agent_name)
    return server


def health_port(settings: Settings, group: int | None) -> int:
    """The port `start` serves livekit-agents' health check on: the setting, plus the
    group's index with worker groups (0 stays 0: any free port)."""
    if group is None or not settings.worker_health_port:
        return settings.worker_health_port
    return settings.worker_health_port + group


def health_port_free(port: int) -> None:
    """Refuse a health port another program listens on, before the worker starts.

    livekit-agents would log "worker failed" with a traceback and exit 0, so a process
    supervisor that restarts on failure would not even restart it. Checked as the
    worker binds it (all interfaces, address reuse on); a port taken between this check
    and the bind still fails the livekit-agents way.
    """
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError as exc:
            raise ConfigError(
                f"the worker's health port {port} is in use ({exc.strerror}): set "
                "DIALTONE_WORKER_HEALTH_PORT to a free port, or 0 for any"
            ) from None


#: livekit-agents commands that register with a LiveKit server (and so need one)
SERVER_COMMANDS = frozenset({"start", "dev", "connect"})
#: livekit-agents' own options that may stand in for a LiveKit setting
_CLI_OVERRIDES = {"--url": "livekit_url", "--api-key": "livekit_api_key"}
_CLI_SECRET = "--api-secret"


def cli_overrides(args: list[str]) -> dict[str, Any]:
    """LiveKit settings given as livekit-agents options (`--url wss://...`), which win
    over the environment there, so they count here too."""
    found: dict[str, Any] = {}
    for i, arg in enumerate(args):
        flag, eq, inline = arg.partition("=")
        if flag not in (*_CLI_OVERRIDES, _CLI_SECRET):
            continue
        value = inline if eq else (args[i + 1] if i + 1 < len(args) else "")
        if flag == _CLI_SECRET:
            found["livekit_api_secret"] = SecretStr(value)
        else:
            found[_CLI_OVERRIDES[flag]] = value
    return found


def export_environment(settings: Settings) -> None:
    """Give livekit-agents (and every job process it forks) the settings dialtone read.

    livekit-agents reads LIVEKIT_URL and its key pair from `os.environ`, never from
    `.env`; the job processes read dialtone's settings again. So the project's `.env`
    is copied into the environment (a variable already set wins, as in `Settings`),
    the three LiveKit values are the validated ones, and DIALTONE_PROJECT_DIR pins the
    project folder for the children whatever their working directory.
    """
    from dotenv import dotenv_values

    project = project_dir()
    os.environ.setdefault(PROJECT_DIR_ENV, str(project))
    dotenv = env_file(project)
    if dotenv is not None:
        for name, value in dotenv_values(dotenv).items():
            if value is not None:
                os.environ.setdefault(name, value)
    for name, value in (
        ("LIVEKIT_URL", settings.livekit_url),
        ("LIVEKIT_API_KEY", settings.livekit_api_key),
        ("LIVEKIT_API_SECRET", settings.livekit_api_secret.get_secret_value()),
    ):
        if value:
            os.environ[name] = value


class _DropLivekitDevNotice(logging.Filter):
    """livekit-agents 1.8.9 calls `dev` deprecated and says auto-reload was removed;
    under dialtone, `dialtone dev` reloads (cli/reload.py), so those lines mislead."""

    NOTICES = ("dev mode is deprecated", "in-process auto-reload has been removed")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.NOTICES)


DEV_NOTE = (
    "dev mode: no load limit, no idle processes, colored logs. `dialtone dev` restarts "
    "this worker when a persona, an agent program or dialtone's code is saved; run "
    "directly (python agents/<name>.py dev) it does not reload."
)


def run_agent(agent_name: str, entrypoint: Entrypoint, argv: list[str] | None = None) -> None:
    """Run an agent program's worker with livekit-agents' command line (`start`, `dev`...).

    Settings come the one way every entry point reads them (environment, then the
    project's `.env`, then defaults) and are handed to livekit-agents. A missing or
    malformed setting ends the program with one line naming it and exit status 1,
    before livekit-agents would log a traceback and exit 0.
    """
    if argv is not None:
        sys.argv = argv
    args = sys.argv[1:]
    command = args[0] if args else ""
    if PROJECT_DIR_ENV not in os.environ and sys.argv and sys.argv[0].endswith(".py"):
        # `python ~/clinic/agents/receptionist.py start` from anywhere: the program's
        # project folder, unless the current directory is a project itself.
        os.environ[PROJECT_DIR_ENV] = str(project_dir(Path(sys.argv[0])))
    try:
        settings = load_settings(**cli_overrides(args))
        if command in SERVER_COMMANDS:
            settings.require_livekit()
        group = group_index()
        supervise = command == "start" and settings.calls_per_process > 1 and group is None
        server = build_server(settings, agent_name, entrypoint, group=group)
        if command == "start" and not supervise:
            health_port_free(health_port(settings, group))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    export_environment(settings)
    apply_job_environment(settings)
    if supervise:  # this process starts the groups; each is this program again
        groups = settings.worker_groups or os.cpu_count() or 1
        print(
            f"{groups} worker groups of up to {settings.calls_per_process} calls each "
            "(DIALTONE_WORKER_GROUPS, DIALTONE_CALLS_PER_PROCESS)",
            file=sys.stderr,
        )
        raise SystemExit(GroupSupervisor(command=[sys.executable, *sys.argv], groups=groups).run())
    if command == "dev":
        logging.getLogger("livekit.agents").addFilter(_DropLivekitDevNotice())
        if "--reload" not in args and "--no-reload" not in args:
            sys.argv.append("--no-reload")  # livekit's own reload is gone; dialtone's is outside
        print(DEV_NOTE, file=sys.stderr)
    from livekit.agents import cli

    cli.run_app(server)
