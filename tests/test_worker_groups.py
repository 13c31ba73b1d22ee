"""Worker groups: what a crash in one call does to its group, and to the other groups.

Two layers: a group process hosting three calls on livekit-agents' own thread job
executor (the executor `dialtone start` uses with `DIALTONE_CALLS_PER_PROCESS` above 1;
here with fake jobs, as no LiveKit server runs), where one call fails in one of two
ways; and the supervisor that runs the groups and starts a dead one again.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from livekit.agents import JobContext, JobExecutorType, JobProcess

from dialtone.worker_groups import FIRST_BACKOFF_S, GROUP_ENV, GroupSupervisor, group_index

ROOT = Path(__file__).resolve().parents[1]
CALLS = 3
WAIT_S = 60.0  # a bound on waiting for processes on a loaded machine, never a pass condition


# -- a group process: three calls on the thread executor, one of them failing -----------


def _prewarm(proc: JobProcess) -> None:
    proc.userdata["ready"] = True


def _count(out: Path, suffix: str) -> int:
    return sum(1 for name in os.listdir(out) if name.endswith(f".{suffix}"))


async def _call(ctx: JobContext) -> None:
    spec = json.loads(ctx.job.metadata)
    out = Path(spec["out"])
    (out / f"{spec['index']}.started").touch()
    while _count(out, "started") < CALLS:  # noqa: ASYNC110  (every call in progress)
        await asyncio.sleep(0.02)
    if spec["fail"] == "raise":
        raise RuntimeError("a bug in this call's code")
    if spec["fail"] == "exit":
        os._exit(70)  # what a crash in native code or the OOM killer does to a process
    await asyncio.sleep(0.3)  # the rest of the call
    (out / f"{spec['index']}.done").touch()
    ctx.shutdown(reason="call over")


def _job(index: int, metadata: str) -> object:
    from livekit.agents.job import JobAcceptArguments, RunningJobInfo
    from livekit.protocol import agent, models

    return RunningJobInfo(
        accept_arguments=JobAcceptArguments(name="t", identity=f"agent-{index}", metadata=""),
        job=agent.Job(
            id=f"AJ_group_{index}",
            room=models.Room(sid=f"RM_group_{index}", name=f"group-{index}"),
            metadata=metadata,
            agent_name="receptionist",
        ),
        url="ws://group.invalid",
        token="",
        worker_id="group",
        fake_job=True,
    )


async def _host(out: Path, fail: str) -> None:
    from livekit.agents.ipc.proc_pool import ProcPool

    pool = ProcPool(
        initialize_process_fnc=_prewarm,
        job_entrypoint_fnc=_call,
        session_end_fnc=None,
        simulation_end_fnc=None,
        num_idle_processes=0,
        initialize_timeout=WAIT_S,
        close_timeout=5.0,
        session_end_timeout=5.0,
        inference_executor=None,
        job_executor_type=JobExecutorType.THREAD,
        mp_ctx=multiprocessing.get_context("forkserver"),
        memory_warn_mb=0,
        memory_limit_mb=0,
        http_proxy=None,
        loop=asyncio.get_running_loop(),
    )
    await pool.start()
    for index in range(CALLS):
        spec = {"out": str(out), "index": index, "fail": fail if index == 1 else ""}
        await pool.launch_job(_job(index, json.dumps(spec)))  # type: ignore[arg-type]
    expected = CALLS - (1 if fail else 0)
    deadline = time.monotonic() + WAIT_S
    while _count(out, "done") < expected and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await pool.aclose()


def host(out: str, fail: str) -> None:
    """A group process's calls (run as `python -c`, see `_start_group`)."""
    asyncio.run(_host(Path(out), fail))


def _start_group(out: Path, fail: str) -> subprocess.Popen[bytes]:
    out.mkdir()
    code = f"from tests.test_worker_groups import host; host({str(out)!r}, {fail!r})"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)


def _outcome(out: Path) -> list[str]:
    return [
        "done"
        if (out / f"{i}.done").exists()
        else "ended"
        if (out / f"{i}.started").exists()
        else "never"
        for i in range(CALLS)
    ]


@pytest.mark.parametrize(
    ("fail", "group_status", "group_calls"),
    [
        # a bug in one call's code: that call ends, its group's other calls finish
        ("raise", 0, ["done", "ended", "done"]),
        # the process dies under one call: every call of its group ends with it
        ("exit", 70, ["ended", "ended", "ended"]),
    ],
)
def test_a_crash_in_one_call_stays_in_its_group(
    tmp_path: Path, fail: str, group_status: int, group_calls: list[str]
) -> None:
    crashing = _start_group(tmp_path / "crashing", fail)
    other = _start_group(tmp_path / "other", "")
    assert crashing.wait(timeout=WAIT_S) == group_status
    assert other.wait(timeout=WAIT_S) == 0
    assert _outcome(tmp_path / "crashing") == group_calls
    assert _outcome(tmp_path / "other") == ["done"] * CALLS  # the other group: untouched


# -- the supervisor ----------------------------------------------------------------------

CHILD = (
    "import os, pathlib, sys, time; "
    "pathlib.Path(sys.argv[1], os.environ['DIALTONE_WORKER_GROUP'] + '-' + str(os.getpid()))"
    ".touch(); time.sleep(600)"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _started(folder: Path, count: int) -> list[str]:
    deadline = time.monotonic() + WAIT_S
    while len(list(folder.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return sorted(p.name for p in folder.iterdir())


def test_each_group_is_started_with_its_index(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = GroupSupervisor(
        command=[sys.executable, "-c", CHILD, str(tmp_path)], groups=2, clock=clock
    )
    supervisor.poll()
    try:
        pids = supervisor.pids()
        assert _started(tmp_path, 2) == sorted(f"{i}-{pid}" for i, pid in enumerate(pids))
    finally:
        supervisor.stop()
        supervisor.wait(timeout=WAIT_S)


def test_a_dead_group_is_started_again_and_the_others_keep_running(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = GroupSupervisor(
        command=[sys.executable, "-c", CHILD, str(tmp_path)], groups=2, clock=clock
    )
    supervisor.poll()
    try:
        first, second = supervisor.pids()
        assert first is not None and second is not None
        os.kill(second, signal.SIGKILL)
        deadline = time.monotonic() + WAIT_S
        while supervisor.pids()[1] in (second, None) and time.monotonic() < deadline:
            supervisor.poll()  # notes the exit; a quick death waits out the backoff
            clock.now += FIRST_BACKOFF_S * 2
            time.sleep(0.02)
        now_first, now_second = supervisor.pids()
        assert now_first == first  # the other group was not touched
        assert now_second is not None and now_second != second
        assert supervisor.restarts() == [0, 1]
    finally:
        supervisor.stop()
        supervisor.wait(timeout=WAIT_S)
    assert supervisor.pids() == [None, None]


def test_stopping_does_not_start_groups_again(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = GroupSupervisor(
        command=[sys.executable, "-c", CHILD, str(tmp_path)], groups=1, clock=clock
    )
    supervisor.poll()
    supervisor.stop()
    supervisor.wait(timeout=WAIT_S)
    clock.now += 3600
    supervisor.poll()
    assert supervisor.pids() == [None]
    assert supervisor.restarts() == [0]


def test_a_process_knows_its_group() -> None:
    assert group_index({GROUP_ENV: "3"}) == 3
    assert group_index({}) is None
    assert group_index({GROUP_ENV: "x"}) is None


def test_a_group_that_dies_starting_waits_longer_each_time(tmp_path: Path) -> None:
    clock = Clock()
    quits = [sys.executable, "-c", "raise SystemExit(3)"]
    supervisor = GroupSupervisor(command=quits, groups=1, clock=clock)
    waits: list[float] = []
    supervisor.poll()
    for _ in range(3):
        pid = supervisor.pids()[0]
        assert pid is not None
        supervisor._groups[0].process.wait()  # type: ignore[union-attr]
        supervisor.poll()  # notes the exit
        assert supervisor.pids() == [None]
        waited = 0.0
        while supervisor.pids() == [None]:
            clock.now += 0.5
            waited += 0.5
            supervisor.poll()
        waits.append(waited)
    supervisor.stop()
    supervisor.wait(timeout=WAIT_S)
    assert waits == [FIRST_BACKOFF_S, 2 * FIRST_BACKOFF_S, 4 * FIRST_BACKOFF_S]


# -- the groups of `python agents/receptionist.py start`, registering with LiveKit ------

REGISTER_S = 180.0  # two workers import the speech stack on a loaded 2-core machine


def _until(condition: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + REGISTER_S
    while not condition():
        assert process.poll() is None, f"the supervisor exited ({process.returncode}): {what}"
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_the_groups_register_and_a_killed_group_registers_again(tmp_path: Path) -> None:
    import psutil

    from tests.livekit_double import LiveKitDouble

    with LiveKitDouble() as double:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "DIALTONE_"))},
            "LIVEKIT_URL": double.url,
            "LIVEKIT_API_KEY": double.api_key,
            "LIVEKIT_API_SECRET": double.api_secret,
            "DIALTONE_PROJECT_DIR": str(ROOT),
            "DIALTONE_PROFILE": "offline",
            "DIALTONE_DATA_DIR": str(tmp_path),
            "DIALTONE_CALLS_PER_PROCESS": "3",
            "DIALTONE_WORKER_GROUPS": "2",
            "DIALTONE_WORKER_HEALTH_PORT": "0",
            "DIALTONE_WORKER_METRICS_PORT": "0",
        }
        supervisor = subprocess.Popen(
            [sys.executable, "agents/receptionist.py", "start"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        records = double.workers.records
        try:
            _until(lambda: len(records) == 2, "two groups never registered", supervisor)
            groups = psutil.Process(supervisor.pid).children()
            assert len(groups) == 2
            os.kill(groups[1].pid, signal.SIGKILL)  # one group's process dies
            _until(lambda: len(records) == 3, "the killed group never came back", supervisor)
            # the other group's first registration is still the one connected
            assert [r.connected for r in records[:2]].count(True) == 1
            assert records[2].connected
            supervisor.send_signal(signal.SIGTERM)  # each group drains (no calls) and stops
            assert supervisor.wait(timeout=REGISTER_S) == 0
        finally:
            if supervisor.poll() is None:
                os.killpg(supervisor.pid, signal.SIGKILL)
                supervisor.wait()
        output = supervisor.stdout.read() if supervisor.stdout else ""
        assert "2 worker groups of up to 3 calls each" in output
        assert "worker group" in output and "exited" in output
        assert all(not r.connected for r in records)
