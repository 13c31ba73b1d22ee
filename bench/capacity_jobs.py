"""The production shape: N calls in livekit-agents' own job processes, no LiveKit server.

`dialtone start` runs each call in a job process of livekit-agents' `ProcPool`, forked
from a forkserver that has preloaded the plugins and `dialtone.worker.JOB_MODULES`,
prewarmed by `dialtone.worker.prewarm`. This builds that pool with livekit-agents'
classes (`ipc.proc_pool.ProcPool`, its process or thread job executor, the forkserver
preload list as `AgentServer.run` sets it), from the options `build_server` gives the
worker; only the room is replaced: each job is a fake job (livekit-agents' mock room)
whose entrypoint, `job_entry`, runs the scripted call over the simulator's audio I/O.
Bare is the same pool with the same plugins and a plain prewarm of the same VAD.

Measured per run: each job process's USS and PSS (smaps_rollup) idle, after prewarm, and
at the peak of the calls, with every process the calls start (recogniser workers)
counted; how long a process takes from fork to ready (`process_created` to
`process_ready`) and a warm one from `launch_job` to the entry running; CPU of every
process under this one (forkserver, job processes, their workers) per call-second.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from livekit.agents import JobContext, JobExecutorType, JobProcess

from bench.procstat import CpuLedger, cpu_seconds, descendants, memory_mb

STAGGER_S = 0.05
CPU_PERIOD_S = 0.25
MEMORY_PERIOD_S = 2.0
READY_TIMEOUT_S = 600.0
CALL_TIMEOUT_S = 240.0
# The simulator's modules stand in for the room (livekit.rtc, preloaded for both).
BENCH_MODULES = ["bench.capacity_call", "bench.capacity_setup", "bench.capacity_jobs"]


def base_variant(variant: str) -> str:
    """`ours+uvloop` is ours with a lever (`call_capacity.LEVERS`): its base is ours."""
    return variant.split("+", 1)[0]


def bare_prewarm(proc: JobProcess) -> None:
    """Load the VAD once per job process, as livekit-agents' examples do.

    The same VAD as ours (class, tuning and inference on the event loop,
    `capacity_setup.bare_vad`): the ratio of ours to bare then measures what dialtone
    adds, not the choice of VAD, whose own saving `bench/vad_cost.py` measures.
    """
    from bench.capacity_setup import bare_vad

    proc.userdata["vad"] = bare_vad()


async def job_entry(ctx: JobContext) -> None:
    """A job's entrypoint: the scripted call, then its result where the bench reads it."""
    started, cpu_at_entry = time.time(), time.process_time()
    from bench.capacity_call import CallResult, run_call
    from bench.capacity_setup import load_audio, make_setup

    spec = json.loads(ctx.job.metadata)
    out = Path(spec["out"])
    vad_model = ctx.proc.userdata["vad"]
    setup = make_setup(
        variant=base_variant(spec["variant"]),
        profile=spec["profile"],
        audio=load_audio(Path(spec["audio"])),
        load_vad=lambda: vad_model,
        instructions=spec["instructions"],
        greeting=spec["greeting"],
        data_dir=Path(spec["data_dir"]),
        line=spec["line"],
    )

    async def report(result: CallResult) -> None:
        loop = type(asyncio.get_running_loop())
        row = {
            **asdict(result),
            "launch_ms": 1000 * (started - spec["launched"]),
            "loop": f"{loop.__module__}.{loop.__qualname__}",  # uvloop's when asked for
        }
        part = out / f"{spec['index']}.part"
        part.write_text(json.dumps(row), encoding="utf-8")
        part.rename(out / f"{spec['index']}.json")
        # Another process says when it has read every CPU counter: a file is the signal.
        while not (out / "release").exists():  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    await run_call(setup, spec["index"], before_close=report, cpu_at_entry=cpu_at_entry)
    ctx.shutdown(reason="scripted call done")


@dataclass(frozen=True, kw_only=True)
class PoolOptions:
    """How the worker's pool runs job processes: the same for both variants but for
    dialtone's own set-up function and modules."""

    setup_fnc: Callable[[JobProcess], Any]
    preload: list[str]
    idle_processes: int
    memory_warn_mb: float
    memory_limit_mb: float


def pool_options(variant: str, data_dir: Path) -> PoolOptions:
    """The pool as `dialtone start` sets it up; bare gets the same but dialtone's parts.

    Both variants import the same plugins (Deepgram's and OpenAI's, which the worker
    imports: the forkserver preloads every registered plugin) and keep as many idle
    processes as `dialtone start` does (`DIALTONE_WORKER_IDLE_PROCESSES`).
    """
    from bench.capacity_setup import profile_settings

    settings = profile_settings("offline", data_dir)
    if base_variant(variant) == "bare":
        from livekit.plugins import deepgram, openai  # noqa: F401  (the worker's plugins)

        return PoolOptions(
            setup_fnc=bare_prewarm,
            preload=[],
            idle_processes=settings.worker_idle_processes,
            memory_warn_mb=settings.job_memory_warn_mb,
            memory_limit_mb=settings.job_memory_limit_mb,
        )
    from livekit.agents.worker import ServerEnvOption

    from dialtone.worker import apply_job_environment, build_server

    server = build_server(settings, "receptionist", job_entry)
    apply_job_environment(settings)  # as `run_agent` does before the forkserver starts
    # livekit-agents 1.8.9 keeps these options on the server as private attributes
    idle = ServerEnvOption.getvalue(server._num_idle_processes, devmode=False)
    return PoolOptions(
        setup_fnc=server._setup_fnc,
        preload=list(server._preload_modules),
        idle_processes=int(idle),
        memory_warn_mb=server._job_memory_warn_mb,
        memory_limit_mb=server._job_memory_limit_mb,
    )


def describe_pool(variant: str) -> dict[str, Any]:
    """What the pool gives a variant's job processes, dialtone's own modules left out.

    Run it in a fresh process per variant: plugins register for the whole process.
    """
    from types import SimpleNamespace

    from livekit.agents.plugin import Plugin

    from bench.capacity_setup import describe_vad

    options = pool_options(variant, Path(tempfile.mkdtemp(prefix="capacity-pool-")))
    proc = SimpleNamespace(userdata={})
    options.setup_fnc(proc)  # type: ignore[arg-type]
    return {
        "vad": describe_vad(proc.userdata["vad"]),
        "plugins": sorted({p.package for p in Plugin.registered_plugins}),
        "preload": sorted(m for m in options.preload if not m.startswith("dialtone")),
        "idle_processes": options.idle_processes,
        "memory_warn_mb": options.memory_warn_mb,
        "memory_limit_mb": options.memory_limit_mb,
    }


def _forkserver(preload: list[str]) -> multiprocessing.context.BaseContext:
    """The forkserver as `AgentServer.run` sets it up: plugins, the preload list, warm-up."""
    from livekit.agents.plugin import Plugin

    ctx = multiprocessing.get_context("forkserver")
    packages = list(dict.fromkeys([p.package for p in Plugin.registered_plugins] + preload))
    ctx.set_forkserver_preload(
        [*packages, "livekit.agents.ipc._preload", "livekit.agents.ipc._preload_freeze"]
    )
    return ctx


def _reported(work: Path) -> int:
    return len(list(work.glob("*.json")))


def _results(work: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(work.glob("*.json"))]


def _cpu_split(results: list[dict[str, Any]], total: float, threads: bool) -> dict[str, Any]:
    """The run's CPU in three parts, from each job process's own counters (process executor).

    - start-up: a job's CPU from its entrypoint until its session has started, per call;
    - steady: its CPU from then until the script ended, per second of that time: what
      each further second of a call costs, and so what a worker full of long calls pays;
    - the rest of the run's CPU per call: the forkserver forking the next idle process
      and that process's warm-up (the pool keeps `num_idle_processes` ready), and the job
      processes' work between their counters' readings.
    A short scripted call spreads its one-off costs over a few seconds, a real call over
    minutes: the steady figure is the one to size long calls by.
    """
    marked = [r for r in results if {"entry", "answered", "ended"} <= r["cpu_marks_s"].keys()]
    if threads or not marked:  # jobs share one process's counters
        return {}
    marks = [r["cpu_marks_s"] for r in marked]
    startup = sum(m["answered"] - m["entry"] for m in marks)
    steady = sum(m["ended"] - m["answered"] for m in marks)
    steady_s = sum(r["duration_s"] - r["answered_s"] for r in marked)
    return {
        "startup_cpu_ms": 1000 * startup / len(marked),
        "steady_cpu_ms_per_call_s": 1000 * steady / steady_s if steady_s > 0 else None,
        "other_cpu_ms": 1000 * (total - startup - steady) / len(marked),
    }


def _sum_memory(pids: list[int]) -> tuple[float, float]:
    readings = [m for m in (memory_mb(pid) for pid in pids) if m is not None]
    return sum(m[0] for m in readings), sum(m[1] for m in readings)


class _Sampler:
    """Reads every process's CPU (and memory, less often) on a thread of its own.

    The worker's main process (here, this one: it runs the pool) is counted with the
    job processes; the sampler's own CPU is taken out, and it does not run on the event
    loop that serves the pool.
    """

    def __init__(self, me: int, infra: set[int], threads: bool) -> None:
        self.me, self.infra, self.threads = me, infra, threads
        self.ledger = CpuLedger()
        self.peak = [0.0, 0.0]
        self.own_cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capacity-sampler", daemon=True)

    def tree(self) -> dict[int, float]:
        found = descendants(self.me)
        found[self.me] = cpu_seconds(self.me)
        return found

    def start(self) -> None:
        self.ledger.start(self.tree())
        self._thread.start()

    def _run(self) -> None:
        last_memory = 0.0
        while not self._stop.wait(CPU_PERIOD_S):
            readings = self.tree()
            self.ledger.update(readings)
            if time.monotonic() - last_memory >= MEMORY_PERIOD_S:
                last_memory = time.monotonic()
                pids = [p for p in readings if p not in self.infra and p != self.me]
                uss, pss = _sum_memory(pids + ([self.me] if self.threads else []))
                self.peak[0], self.peak[1] = max(self.peak[0], uss), max(self.peak[1], pss)
        self.ledger.update(self.tree())
        self.own_cpu_s = time.thread_time()

    def stop(self) -> float:
        """The CPU every process spent since `start`, the sampler's own taken out."""
        self._stop.set()
        self._thread.join()
        return self.ledger.total() - self.own_cpu_s


def _job_info(index: int, metadata: str) -> Any:
    from livekit.agents.job import JobAcceptArguments, RunningJobInfo
    from livekit.protocol import agent, models

    return RunningJobInfo(
        accept_arguments=JobAcceptArguments(name="bench", identity=f"agent-{index}", metadata=""),
        job=agent.Job(
            id=f"AJ_capacity_{index}",
            room=models.Room(sid=f"RM_capacity_{index}", name=f"capacity-{index}"),
            metadata=metadata,
            agent_name="receptionist",
        ),
        url="ws://capacity.invalid",
        token="",
        worker_id="capacity",
        fake_job=True,
    )


async def run_jobs(
    *, variant: str, profile: str, calls: int, executor: str, line: str
) -> dict[str, Any]:
    from livekit.agents.ipc.proc_pool import ProcPool

    from bench.capacity_setup import caller_audio, persona_lines, save_audio

    work = Path(tempfile.mkdtemp(prefix="capacity-jobs-"))
    audio_path = work / "audio.npz"
    save_audio(await caller_audio(), audio_path)
    instructions, greeting = persona_lines()
    options = pool_options(variant, work)
    threads = executor == "thread"
    ready_s: list[float] = []
    created: dict[int, float] = {}
    pool = ProcPool(
        initialize_process_fnc=options.setup_fnc,
        job_entrypoint_fnc=job_entry,
        session_end_fnc=None,
        simulation_end_fnc=None,
        num_idle_processes=options.idle_processes,
        initialize_timeout=READY_TIMEOUT_S,
        close_timeout=10.0,
        session_end_timeout=10.0,
        inference_executor=None,
        job_executor_type=JobExecutorType.THREAD if threads else JobExecutorType.PROCESS,
        mp_ctx=_forkserver(options.preload + BENCH_MODULES),
        memory_warn_mb=options.memory_warn_mb,
        memory_limit_mb=options.memory_limit_mb,
        http_proxy=None,
        loop=asyncio.get_running_loop(),
    )
    pool.on("process_created", lambda proc: created.__setitem__(id(proc), time.monotonic()))
    pool.on(
        "process_ready",
        lambda proc: ready_s.append(time.monotonic() - created.get(id(proc), time.monotonic())),
    )
    me = os.getpid()
    base_uss = memory_mb(me) if threads else None
    await pool.start()  # returns once the idle processes are warm, as the worker starts
    await asyncio.sleep(1.0)  # let the last prewarm settle
    job_pids = [me] if threads else [p.pid for p in pool.processes if p.pid]  # type: ignore[attr-defined]
    infra = set(descendants(me)) - set(job_pids)
    idle_uss, idle_pss = _sum_memory(job_pids) if job_pids else (0.0, 0.0)
    sampler = _Sampler(me, infra, threads)
    sampler.start()
    spec = {
        "variant": variant,
        "profile": profile,
        "audio": str(audio_path),
        "out": str(work),
        "instructions": instructions,
        "greeting": greeting,
        "data_dir": str(work),
        "line": line,
    }
    # Calls ring as a worker takes them: each job is launched as it comes, not after the
    # last one found its process (a burst waits for processes to fork, as in production).
    launches: list[asyncio.Task[None]] = []
    for index in range(calls):
        metadata = json.dumps({**spec, "index": index, "launched": time.time()})
        launches.append(asyncio.create_task(pool.launch_job(_job_info(index, metadata))))
        await asyncio.sleep(STAGGER_S)
    deadline = time.monotonic() + CALL_TIMEOUT_S
    # Job processes report through files: polling them is the only way to hear it here.
    while _reported(work) < calls and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    cpu = sampler.stop()  # every call has ended and waits: all counters are still there
    (work / "release").touch()
    results = _results(work)
    await asyncio.gather(*launches, return_exceptions=True)
    await pool.aclose()
    missing = calls - len(results)
    base = base_uss if threads and base_uss else (0.0, 0.0)
    return {
        "variant": variant,
        "calls": calls,
        "latencies_ms": [x for r in results for x in r["latencies_ms"]],
        "barge_reactions_ms": [x for r in results for x in r["barge_reactions_ms"]],
        "call_seconds": sum(r["duration_s"] for r in results) or 1.0,
        "cpu_seconds": cpu,
        "input_lag_p99_ms": _median([r["input_lag_p99_ms"] for r in results]),
        "input_lag_max_ms": max((r["input_lag_max_ms"] for r in results), default=None),
        "failures": [f for r in results for f in r["failures"]]
        + [f"{missing} calls never reported"] * bool(missing),
        "idle_uss_mb": idle_uss / len(job_pids) if job_pids and not threads else None,
        "idle_pss_mb": idle_pss / len(job_pids) if job_pids and not threads else None,
        "call_uss_mb": (sampler.peak[0] - base[0]) / calls,
        "call_pss_mb": (sampler.peak[1] - base[1]) / calls,
        **_cpu_split(results, cpu, threads),
        "loops": sorted({r["loop"] for r in results}),
        "ready_ms": [1000 * s for s in ready_s],
        "launch_ms": [r["launch_ms"] for r in results],
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


if __name__ == "__main__":  # `python -m bench.capacity_jobs --describe ours|bare`
    import sys

    if sys.argv[1:2] == ["--describe"] and len(sys.argv) == 3:
        print(json.dumps(describe_pool(sys.argv[2])))
    else:
        raise SystemExit("usage: python -m bench.capacity_jobs --describe ours|bare")
