"""How many concurrent calls a worker carries: dialtone's receptionist vs bare livekit-agents.

N scripted calls (`capacity_call.py`: a greeting, two questions, a barge-in over a long
answer, a last line) run at once with real Silero VAD, in one of two shapes:

- `--shape production`: every call in its own livekit-agents job process, from a
  `ProcPool` and forkserver set up as `dialtone start` sets them up (its idle processes,
  memory limits, preloaded modules), the room replaced by the simulator
  (`capacity_jobs.py`); calls are launched as they ring, so a burst waits for processes
  to fork as it would in production; `--executor thread` runs the same jobs on
  livekit-agents' thread executor instead: one worker group of N calls, as
  `DIALTONE_CALLS_PER_PROCESS` runs them (`dialtone/worker_groups.py`);
- `--shape process` (default): every call in one process and one event loop (what
  several calls per job process would cost, without a worker around them).

and with one of three sets of providers (`--profile`, see `capacity_setup.py`): the
instant scripted fakes, the cloud profile with fakes that take a cloud provider's time
and stream like Deepgram, or the real offline stack.

Fair by construction: bare differs from ours only by dialtone. Both get the same VAD
(class, tuning, inference on the event loop), line framing, fakes, plugins, idle
processes and memory limits; bare imports nothing ours does not (no Silero plugin).
`tests/test_bench_capacity.py` holds the two configurations equal. The caller's line
queues audio the agent has not read yet, as a room does, instead of skipping it when
the loop is late: an overloaded agent does all the work and its input lag is reported.
CPU counts every process: the worker's main process (here, the one running the pool;
the bench's own sampler thread taken out), the forkserver, the job processes.

Each (variant, N, repetition) runs in a fresh process, and the variants rotate run by
run, so the load other work puts on the machine falls on all alike; `--reps` (3 by
default) reports each figure's spread. Compare variants within one run: absolute
figures depend on whatever else the machine is doing.

`--variants` also takes `ours+LEVER` (production shape): ours with one per-frame setting
changed (`LEVERS`: the loop monitor's threshold, 100 ms input frames, uvloop), measured
alone against ours and bare in the same run.

Per N and variant it reports turn latency (end of caller speech to first agent audio)
median and p90 with their spread, CPU ms per second of call, memory per call (USS, and
in the production shape PSS and each job process idle), the time a job process takes to
be ready, the caller line's input lag, and the largest N whose p90 stays within +20 %
of the smallest N's.

Run: .venv/bin/python bench/call_capacity.py --shape production --profile cloud --calls 1,100
     .venv/bin/python bench/call_capacity.py --shape production --profile cloud \
         --variants ours,bare,ours+monitor250,ours+frames100,ours+uvloop --calls 10
     .venv/bin/python bench/call_capacity.py --sizing   (docs/operating.md, "Sizing")
Each prints markdown tables ready to paste and writes out/call_capacity.json (--out).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.capacity_call import LINES  # noqa: E402
from bench.capacity_report import markdown, ratios, sizing_markdown, summarize  # noqa: E402
from bench.capacity_setup import PROFILES, Profile  # noqa: E402
from bench.procstat import CpuLedger, cpu_seconds, descendants  # noqa: E402

VARIANTS = ("ours", "bare")
#: Less per-frame work, each a dialtone setting: variant `ours+NAME` is ours with the
#: lever's settings alone, measured in the same run as ours and bare (production shape).
LEVERS: dict[str, dict[str, str]] = {
    "monitor250": {"DIALTONE_LOOP_MONITOR_WARN_MS": "250"},
    "frames100": {"DIALTONE_INPUT_FRAME_MS": "100"},
    "uvloop": {"DIALTONE_UVLOOP": "1"},
    # Diagnosis, not a lever: the cloud recogniser without its fallback chain (what
    # livekit-agents' `stt.FallbackAdapter` costs per frame); never a setting.
    "nosttchain": {"BENCH_NO_STT_CHAIN": "1"},
    # Diagnosis: the recogniser chain as livekit-agents' `stt.FallbackAdapter` (before
    # `dialtone.stt_failover`), to measure what forwarding frames directly saves.
    "upstreamchain": {"BENCH_UPSTREAM_STT_CHAIN": "1"},
    "all": {
        "DIALTONE_LOOP_MONITOR_WARN_MS": "250",
        "DIALTONE_INPUT_FRAME_MS": "100",
        "DIALTONE_UVLOOP": "1",
    },
}
SHAPES = ("process", "production")
STAGGER_S = 0.05  # calls do not all ring in the same 20 ms
SIZING_CALLS = {"offline": [1, 5, 10], "cloud": [1, 10, 20, 30]}


def _memory_mb() -> tuple[float, float]:
    """(RSS, USS) of this process in MB, from /proc (USS: its private pages only)."""
    fields: dict[str, int] = {}
    with open("/proc/self/smaps_rollup", encoding="ascii") as smaps:
        for row in smaps:
            parts = row.split()
            if len(parts) >= 2 and parts[1].isdigit():
                fields[parts[0].rstrip(":")] = int(parts[1])
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return fields.get("Rss", 0) / 1024, uss / 1024


async def _child(variant: str, calls: int, profile: Profile, line: str) -> dict[str, Any]:
    from bench.capacity_call import loop_lag, run_call
    from bench.capacity_setup import caller_audio, make_setup, persona_lines

    os.chdir(ROOT)
    instructions, greeting = persona_lines()
    setup = make_setup(  # each call builds its own VAD, as a job process loads its own
        variant=variant,
        profile=profile,
        audio=await caller_audio(),
        instructions=instructions,
        greeting=greeting,
        data_dir=Path(tempfile.mkdtemp(prefix="capacity-")),
        line=line,
    )
    from livekit.agents import inference  # noqa: F401  (onnxruntime's one-off start-up)

    gc.collect()
    rss0, uss0 = _memory_mb()
    peak = [rss0, uss0]
    lag: list[float] = []
    stop = asyncio.Event()

    me = os.getpid()
    ledger = CpuLedger()  # this process and any it starts (offline recogniser workers)

    async def sample_memory() -> None:
        while not stop.is_set():
            rss, uss = _memory_mb()
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], uss)
            ledger.update({me: cpu_seconds(me), **descendants(me)})
            await asyncio.sleep(0.25)

    async def staggered(index: int) -> Any:
        await asyncio.sleep(index * STAGGER_S)
        return await run_call(setup, index)

    watchers = [asyncio.create_task(loop_lag(lag, stop)), asyncio.create_task(sample_memory())]
    ledger.start({me: cpu_seconds(me), **descendants(me)})
    results = await asyncio.gather(*(staggered(i) for i in range(calls)))
    ledger.update({me: cpu_seconds(me), **descendants(me)})
    cpu = ledger.total()
    stop.set()
    await asyncio.gather(*watchers)
    return {
        "variant": variant,
        "calls": calls,
        "latencies_ms": [x for r in results for x in r.latencies_ms],
        "barge_reactions_ms": [x for r in results for x in r.barge_reactions_ms],
        "call_seconds": sum(r.duration_s for r in results),
        "cpu_seconds": cpu,
        "loop_lag_p99_ms": sorted(lag)[int(0.99 * (len(lag) - 1))] if lag else None,
        "input_lag_p99_ms": sorted(r.input_lag_p99_ms for r in results)[len(results) // 2],
        "input_lag_max_ms": max(r.input_lag_max_ms for r in results),
        "failures": [f for r in results for f in r.failures],
        "call_uss_mb": (peak[1] - uss0) / calls,
        "call_rss_mb": (peak[0] - rss0) / calls,
    }


def _run_child(variant: str, calls: int, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    for name in {name for lever in LEVERS.values() for name in lever}:
        env.pop(name, None)  # a lever is only where its variant asks for it
    if "+" in variant:
        env.update(LEVERS[variant.split("+", 1)[1]])
    command = [sys.executable, __file__, "--child", variant, "--calls", str(calls)]
    command += ["--shape", args.shape, "--profile", args.profile, "--executor", args.executor]
    command += ["--line", args.line]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"error: {variant} x{calls} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _call_counts(text: str) -> list[int]:
    try:
        counts = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--calls takes numbers separated by commas, like 1,5,10 (got {text!r})"
        ) from None
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("--calls needs at least one count, each 1 or more")
    return counts


def _variants(text: str) -> tuple[str, ...]:
    chosen = tuple(v.strip() for v in text.split(",") if v.strip())
    known = (*VARIANTS, *(f"ours+{lever}" for lever in LEVERS))
    if not chosen or any(v not in known for v in chosen):
        raise argparse.ArgumentTypeError(
            f"--variants takes a list of {', '.join(known)} (got {text!r})"
        )
    return chosen


def measure(args: argparse.Namespace, calls: list[int]) -> list[dict[str, Any]]:
    """Every (repetition, N, variant) in a fresh process, ours and bare alternating."""
    runs: list[dict[str, Any]] = []
    for rep in range(args.reps):
        for index, count in enumerate(calls):
            order = args.variants if (rep + index) % 2 == 0 else args.variants[::-1]
            for variant in order:
                run = {**_run_child(variant, count, args), "rep": rep}
                runs.append(run)
                print(
                    f"{args.shape}/{args.profile} rep {rep + 1} N={count:<3} {variant}: "
                    f"{len(run['latencies_ms'])} turns, "
                    f"{1000 * run['cpu_seconds'] / run['call_seconds']:.1f} CPU ms/call-s, "
                    f"{len(run['failures'])} failures",
                    file=sys.stderr,
                )
    return runs


def _command(args: argparse.Namespace, calls: list[int]) -> str:
    return (
        f"bench/call_capacity.py --shape {args.shape} --profile {args.profile} "
        f"--variants {','.join(args.variants)} --calls {','.join(map(str, calls))} "
        f"--reps {args.reps}"
        + (" --executor thread" if args.executor == "thread" else "")
        + (f" --line {args.line}" if args.line != "room16" else "")
    )


def sizing(args: argparse.Namespace) -> dict[str, Any]:
    """The Sizing table: ours in the production shape, offline and cloud profiles."""
    per_profile: dict[str, list[dict[str, Any]]] = {}
    commands: dict[str, str] = {}
    runs: list[dict[str, Any]] = []
    for profile in ("offline", "cloud"):
        args.profile, args.shape, args.variants = profile, "production", ("ours",)
        calls = args.calls or SIZING_CALLS[profile]
        mine = measure(args, calls)
        runs += mine
        per_profile[profile] = summarize(mine, ("ours",))
        commands[profile] = _command(args, calls)
        print(f"\n### {profile}\n\n{markdown(per_profile[profile], [], ('ours',))}")
    cores = os.cpu_count() or 1
    print(f"\n### Sizing ({cores} cores)\n\n{sizing_markdown(per_profile, commands, cores)}")
    return {"sizing": per_profile, "commands": commands, "runs": runs}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=_call_counts, default=None, help="e.g. 1,5,10")
    parser.add_argument(
        "--reps", type=int, default=3, help="repetitions of every N (the spread is reported)"
    )
    parser.add_argument("--shape", choices=SHAPES, default="process")
    parser.add_argument("--profile", choices=PROFILES, default="fakes")
    parser.add_argument(
        "--executor",
        choices=("process", "thread"),
        default="process",
        help="the production shape's job executor",
    )
    parser.add_argument(
        "--line",
        choices=tuple(LINES),
        default="room16",
        help="how the caller's audio reaches the agent: room16 (as dialtone's calls read "
        "the room: 16 kHz in 50 ms frames), room (livekit-agents' default 24 kHz), phone "
        "(8 kHz in 20 ms)",
    )
    parser.add_argument("--variants", type=_variants, default=VARIANTS, help="ours,bare")
    parser.add_argument(
        "--sizing",
        action="store_true",
        help="ours in the production shape, offline and cloud: the Sizing table",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "call_capacity.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        count = (args.calls or [1])[0]
        if args.shape == "production":
            from bench.capacity_jobs import run_jobs

            coro = run_jobs(
                variant=args.child,
                profile=args.profile,
                calls=count,
                executor=args.executor,
                line=args.line,
            )
            print(json.dumps(asyncio.run(coro)))
        else:
            print(json.dumps(asyncio.run(_child(args.child, count, args.profile, args.line))))
        return
    if args.reps < 1:
        parser.error("--reps must be 1 or more")
    if args.shape != "production" and any("+" in v for v in args.variants):
        parser.error("the levers (ours+...) act on job processes: add --shape production")
    if args.profile == "offline" and "bare" in args.variants and not args.sizing:
        parser.error("bare has no offline profile: add --variants ours")
    started = time.monotonic()
    if args.sizing:
        report = sizing(args)
    else:
        calls = args.calls or [1, 5, 10]
        runs = measure(args, calls)
        rows = summarize(runs, args.variants)
        by_n = ratios(rows, runs)
        print(f"\n`{_command(args, calls)}`\n\n{markdown(rows, by_n, args.variants)}")
        report = {
            "command": _command(args, calls),
            "rows": rows,
            "ours_over_bare": by_n,
            "runs": runs,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report.update(cpus=os.cpu_count(), wall_seconds=round(time.monotonic() - started, 1))
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
