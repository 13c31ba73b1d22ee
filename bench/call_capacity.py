"""How many concurrent calls one process carries: dialtone's receptionist vs bare livekit-agents.

N scripted calls (`capacity_call.py`: a greeting, two questions, a barge-in over a long
answer, a last line) run at once in one process, with real silero VAD and the scripted
providers of `tests/fakes.py`. Each (variant, N, repetition) runs in a fresh process so
memory and CPU are its own, and ours and bare alternate run by run, so the load other
work puts on the machine falls on both alike. Per N and variant it reports turn latency
(end of caller speech to first agent audio) median and p90, CPU ms per second of call
(process CPU time / total call seconds), memory per call (RSS and USS peak minus the
process's baseline, divided by N), event-loop lag p99, and the largest N whose p90 stays
within +20 % of one call's. Compare ours with bare as ratios from one run: absolute
figures depend on whatever else the machine is doing.

Run: .venv/bin/python bench/call_capacity.py --calls 1,5,10,20 --reps 1
(writes out/call_capacity.json; --out to change it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VARIANTS = ("ours", "bare")
STAGGER_S = 0.05  # calls do not all ring in the same 20 ms
WITHIN = 1.20


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


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


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


async def _child(variant: str, calls: int) -> dict[str, Any]:
    from bench.capacity_call import SCRIPT, CallSetup, loop_lag, run_call
    from dialtone.config import load_settings
    from dialtone.messages.store import message_store
    from dialtone.offline.espeak import synthesize
    from dialtone.personas import PersonaBook
    from dialtone.pipeline import load_vad
    from dialtone.programs import load_program
    from dialtone.simulate.phone_audio import to_phone_line, trim_silence

    os.chdir(ROOT)
    settings = load_settings(data_dir=Path(tempfile.mkdtemp(prefix="capacity-")))
    persona = PersonaBook.load(settings.persona_dir, settings.default_persona).pick()
    audio = {
        line.text: to_phone_line(trim_silence(await synthesize(line.text)), 16000)
        for line in SCRIPT
    }

    setup = CallSetup(
        variant="ours" if variant == "ours" else "bare",
        audio=audio,
        persona=persona,
        messages=message_store(settings),
        make_agent=load_program("receptionist", settings.agents_dir).make_agent,
        load_vad=load_vad,
    )
    load_vad()  # the native model's one-off load is not a per-call cost
    gc.collect()
    rss0, uss0 = _memory_mb()
    peak = [rss0, uss0]
    lag: list[float] = []
    stop = asyncio.Event()

    async def sample_memory() -> None:
        while not stop.is_set():
            rss, uss = _memory_mb()
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], uss)
            await asyncio.sleep(0.25)

    async def staggered(index: int) -> Any:
        await asyncio.sleep(index * STAGGER_S)
        return await run_call(setup, index)

    watchers = [asyncio.create_task(loop_lag(lag, stop)), asyncio.create_task(sample_memory())]
    cpu0 = _cpu_seconds()
    results = await asyncio.gather(*(staggered(i) for i in range(calls)))
    cpu = _cpu_seconds() - cpu0
    stop.set()
    await asyncio.gather(*watchers)
    return {
        "variant": variant,
        "calls": calls,
        "latencies_ms": [x for r in results for x in r.latencies_ms],
        "barge_reactions_ms": [x for r in results for x in r.barge_reactions_ms],
        "call_seconds": sum(r.duration_s for r in results),
        "cpu_seconds": cpu,
        "rss_base_mb": rss0,
        "rss_peak_mb": peak[0],
        "uss_base_mb": uss0,
        "uss_peak_mb": peak[1],
        "loop_lag_p99_ms": percentile(lag, 99),
        "failures": [f for r in results for f in r.failures],
    }


def _run_child(variant: str, calls: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--calls", str(calls)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"error: {variant} x{calls} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (N, variant): pooled turns, medians over repetitions, ours/bare ratios."""
    rows: list[dict[str, Any]] = []
    for calls in sorted({r["calls"] for r in runs}):
        for variant in VARIANTS:
            mine = [r for r in runs if r["calls"] == calls and r["variant"] == variant]
            turns = [x for r in mine for x in r["latencies_ms"]]
            rows.append(
                {
                    "calls": calls,
                    "variant": variant,
                    "turns": len(turns),
                    "latency_median_ms": percentile(turns, 50),
                    "latency_p90_ms": percentile(turns, 90),
                    "cpu_ms_per_call_s": statistics.median(
                        1000 * r["cpu_seconds"] / r["call_seconds"] for r in mine
                    ),
                    "rss_mb_per_call": statistics.median(
                        (r["rss_peak_mb"] - r["rss_base_mb"]) / calls for r in mine
                    ),
                    "uss_mb_per_call": statistics.median(
                        (r["uss_peak_mb"] - r["uss_base_mb"]) / calls for r in mine
                    ),
                    "loop_lag_p99_ms": statistics.median(r["loop_lag_p99_ms"] or 0.0 for r in mine),
                    "failures": sum(len(r["failures"]) for r in mine),
                }
            )
    return rows


def capacity(rows: list[dict[str, Any]], variant: str) -> int | None:
    """The largest N up to which every p90 stays within +20 % of the smallest N's p90."""
    mine = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["calls"])
    if not mine or mine[0]["latency_p90_ms"] is None:
        return None
    limit = WITHIN * mine[0]["latency_p90_ms"]
    largest = None
    for row in mine:
        if row["latency_p90_ms"] is None or row["latency_p90_ms"] > limit or row["failures"]:
            break
        largest = row["calls"]
    return largest


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("latency_median_ms", "latency_p90_ms", "cpu_ms_per_call_s", "rss_mb_per_call")
    out = []
    for calls in sorted({r["calls"] for r in rows}):
        ours = next(r for r in rows if r["calls"] == calls and r["variant"] == "ours")
        bare = next(r for r in rows if r["calls"] == calls and r["variant"] == "bare")
        out.append(
            {
                "calls": calls,
                **{k: (ours[k] / bare[k] if ours[k] and bare[k] else None) for k in keys},
            }
        )
    return out


def _fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[dict[str, Any]], by_n: list[dict[str, Any]]) -> None:
    print(
        f"{'N':>4} {'variant':<5} {'turns':>5} {'med ms':>7} {'p90 ms':>7} {'CPU ms/s':>9} "
        f"{'RSS MB/call':>11} {'USS MB/call':>11} {'lag p99':>8} {'fail':>4}"
    )
    for r in rows:
        print(
            f"{r['calls']:>4} {r['variant']:<5} {r['turns']:>5} "
            f"{_fmt(r['latency_median_ms']):>7} {_fmt(r['latency_p90_ms']):>7} "
            f"{_fmt(r['cpu_ms_per_call_s'], '.1f'):>9} {_fmt(r['rss_mb_per_call'], '.1f'):>11} "
            f"{_fmt(r['uss_mb_per_call'], '.1f'):>11} {_fmt(r['loop_lag_p99_ms'], '.1f'):>8} "
            f"{r['failures']:>4}"
        )
    print("\nours / bare:")
    print(f"{'N':>4} {'median':>7} {'p90':>7} {'CPU':>7} {'RSS':>7}")
    for r in by_n:
        print(
            f"{r['calls']:>4} {_fmt(r['latency_median_ms'], '.2f'):>7} "
            f"{_fmt(r['latency_p90_ms'], '.2f'):>7} {_fmt(r['cpu_ms_per_call_s'], '.2f'):>7} "
            f"{_fmt(r['rss_mb_per_call'], '.2f'):>7}"
        )
    for variant in VARIANTS:
        print(
            f"largest N with p90 within +20 % of the smallest N ({variant}): "
            f"{capacity(rows, variant)}"
        )


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=_call_counts, default=[1, 5, 10], help="e.g. 1,5,10")
    parser.add_argument("--reps", type=int, default=1, help="repetitions of every N")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "call_capacity.json")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child, args.calls[0]))))
        return
    if args.reps < 1:
        parser.error("--reps must be 1 or more")
    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    for rep in range(args.reps):
        for index, calls in enumerate(args.calls):
            order = VARIANTS if (rep + index) % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                run = _run_child(variant, calls)
                runs.append(run)
                print(
                    f"rep {rep + 1} N={calls:<3} {variant}: {len(run['latencies_ms'])} turns, "
                    f"{1000 * run['cpu_seconds'] / run['call_seconds']:.1f} CPU ms/call-s",
                    file=sys.stderr,
                )
    rows = summarize(runs)
    by_n = ratios(rows)
    print_table(rows, by_n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "command": " ".join(["bench/call_capacity.py", *(argv or sys.argv[1:])]),
        "cpus": os.cpu_count(),
        "wall_seconds": round(time.monotonic() - started, 1),
        "rows": rows,
        "ours_over_bare": by_n,
        "capacity": {v: capacity(rows, v) for v in VARIANTS},
        "runs": runs,
    }
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
