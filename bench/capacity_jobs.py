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
import tempfile
import time
from dataclasses import asdict
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


def bare_prewarm(proc: JobProcess) -> None:
    """Load the VAD once per job process, as livekit-agents' examples do.

    The same VAD as ours (livekit-agents' native Silero with the phone tuning): the
    ratio of ours to bare then measures what dialtone adds, not the choice of VAD,
    whose own saving `bench/vad_cost.py` measures.
    """
    from livekit.agents import inference

    from dialtone.pipeline import VAD_MIN_SILENCE

    proc.userdata["vad"] = inference.VAD(model="silero", min_silence_duration=VAD_MIN_SILENCE)


async def job_entry(ctx: JobContext) -> None:
    """A job's entrypoint: the scripted call, then its result where the bench reads it."""
    started, cpu_at_entry = time.time(), time.process_time()
    from bench.capacity_call import CallResult, run_call
    from bench.capacity_setup import load_audio, make_setup

    spec = json.loads(ctx.job.metadata)
    out = Path(spec["out"])
    vad_model = ctx.proc.userdata["vad"]
    if spec.get("vad") == "thread":  # what inference on the event loop saves
        from concurrent.futures import ThreadPoolExecutor

        from dialtone.pipeline import load_vad

        vad_model = load_vad(executor=ThreadPoolExecutor(max_workers=1))
    setup = make_setup(
        variant=spec["variant"],
        profile=spec["profile"],
        audio=load_audio(Path(spec["audio"])),
        load_vad=lambda: vad_model,
        instructions=spec["instructions"],
        greeting=spec["greeting"],
        data_dir=Path(spec["data_dir"]),
        line=spec["line"],
    )

    async def report(result: CallResult) -> None:
        row = {**asdict(result), "launch_ms": 1000 * (started - spec["launched"])}
        part = out / f"{spec['index']}.part"
        part.write_text(json.dumps(row), encoding="utf-8")
        part.rename(out / f"{spec['index']}.json")
        # Another process says when it has read every CPU counter: a file is the signal.
        while not (out / "release").exists():  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    await run_call(setup, spec["index"], before_close=report, cpu_at_entry=cpu_at_entry)
    ctx.shutdown(reason="scripted call done")


def _pool_options(variant: str, data_dir: Path) -> tuple[Any, list[str], float, float]:
    """(setup_fnc, preload modules, memory warn MB, memory limit MB) as the worker has them."""
    if variant == "bare":
        from livekit.plugins import deepgram, openai, silero  # noqa: F401  (same plugins)

        return bare_prewarm, [], 1000.0, 0.0  # livekit-agents' defaults
    from bench.capacity_setup import profile_settings
    from dialtone.worker import build_server

    server = build_server(profile_settings("offline", data_dir), "receptionist", job_entry)
    # livekit-agents 1.8.9 keeps these options on the server as private attributes
    return (
        server._setup_fnc,
        list(server._preload_modules),
        server._job_memory_warn_mb,
        server._job_memory_limit_mb,
    )


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


async def run_jobs(
    *, variant: str, profile: str, calls: int, executor: str, line: str, vad: str = "inline"
) -> dict[str, Any]:
    from livekit.agents.ipc.proc_pool import ProcPool
    from livekit.agents.job import JobAcceptArguments, RunningJobInfo
    from livekit.protocol import agent, models

    from bench.capacity_call import loop_lag
    from bench.capacity_setup import caller_audio, persona_lines, save_audio

    work = Path(tempfile.mkdtemp(prefix="capacity-jobs-"))
    audio_path = work / "audio.npz"
    save_audio(await caller_audio(), audio_path)
    instructions, greeting = persona_lines()
    setup_fnc, preload, warn_mb, limit_mb = _pool_options(variant, work)
    threads = executor == "thread"
    ready_s: list[float] = []
    created: dict[int, float] = {}
    pool = ProcPool(
        initialize_process_fnc=setup_fnc,
        job_entrypoint_fnc=job_entry,
        session_end_fnc=None,
        simulation_end_fnc=None,
        num_idle_processes=calls,
        initialize_timeout=READY_TIMEOUT_S,
        close_timeout=10.0,
        session_end_timeout=10.0,
        inference_executor=None,
        job_executor_type=JobExecutorType.THREAD if threads else JobExecutorType.PROCESS,
        mp_ctx=_forkserver(preload + BENCH_MODULES),
        memory_warn_mb=warn_mb,
        memory_limit_mb=limit_mb,
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
    await pool.start()
    all_ready = asyncio.Event()
    pool.on("process_ready", lambda _: all_ready.set() if len(ready_s) >= calls else None)
    if len(ready_s) < calls:
        await asyncio.wait_for(all_ready.wait(), READY_TIMEOUT_S)
    await asyncio.sleep(1.0)  # let the last prewarm settle
    job_pids = [me] if threads else [p.pid for p in pool.processes if p.pid]  # type: ignore[attr-defined]
    infra = set(descendants(me)) - set(job_pids)
    idle_uss, idle_pss = _sum_memory(job_pids)
    ledger = CpuLedger()
    ledger.start({**descendants(me), **({me: cpu_seconds(me)} if threads else {})})
    peak = [0.0, 0.0]
    lag: list[float] = []
    stop = asyncio.Event()

    def tree() -> dict[int, float]:
        found = descendants(me)
        if threads:
            found[me] = cpu_seconds(me)
        return found

    async def sample() -> None:
        last_memory = 0.0
        while not stop.is_set():
            readings = tree()
            ledger.update(readings)
            if time.monotonic() - last_memory >= MEMORY_PERIOD_S:
                last_memory = time.monotonic()
                pids = [p for p in readings if p not in infra] + ([me] if threads else [])
                uss, pss = _sum_memory(pids)
                peak[0], peak[1] = max(peak[0], uss), max(peak[1], pss)
            await asyncio.sleep(CPU_PERIOD_S)

    watchers = [asyncio.create_task(sample()), asyncio.create_task(loop_lag(lag, stop))]
    spec = {
        "variant": variant,
        "profile": profile,
        "audio": str(audio_path),
        "out": str(work),
        "instructions": instructions,
        "greeting": greeting,
        "data_dir": str(work),
        "line": line,
        "vad": vad,
    }
    for index in range(calls):
        metadata = json.dumps({**spec, "index": index, "launched": time.time()})
        await pool.launch_job(
            RunningJobInfo(
                accept_arguments=JobAcceptArguments(
                    name="bench", identity=f"agent-{index}", metadata=""
                ),
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
        )
        await asyncio.sleep(STAGGER_S)
    deadline = time.monotonic() + CALL_TIMEOUT_S
    # Job processes report through files: polling them is the only way to hear it here.
    while _reported(work) < calls and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    ledger.update(tree())  # every call has ended and waits: all counters are still there
    stop.set()
    await asyncio.gather(*watchers)
    (work / "release").touch()
    results = _results(work)
    await pool.aclose()
    if threads and base_uss is not None:
        idle_uss, idle_pss = idle_uss - base_uss[0], idle_pss - base_uss[1]
    missing = calls - len(results)
    return {
        "variant": variant,
        "calls": calls,
        "latencies_ms": [x for r in results for x in r["latencies_ms"]],
        "barge_reactions_ms": [x for r in results for x in r["barge_reactions_ms"]],
        "call_seconds": sum(r["duration_s"] for r in results) or 1.0,
        "cpu_seconds": ledger.total(),
        "loop_lag_p99_ms": sorted(lag)[int(0.99 * (len(lag) - 1))] if lag else None,
        "failures": [f for r in results for f in r["failures"]]
        + [f"{missing} calls never reported"] * bool(missing),
        # the thread executor's jobs share one process: its growth is theirs together
        "idle_uss_mb": idle_uss / (calls if threads else len(job_pids)),
        "idle_pss_mb": idle_pss / (calls if threads else len(job_pids)),
        "call_uss_mb": (peak[0] - (base_uss[0] if threads and base_uss else 0.0)) / calls,
        "call_pss_mb": (peak[1] - (base_uss[1] if threads and base_uss else 0.0)) / calls,
        **_cpu_split(results, ledger.total(), threads),
        "ready_ms": [1000 * s for s in ready_s],
        "launch_ms": [r["launch_ms"] for r in results],
    }
