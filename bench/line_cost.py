"""What the framing of the caller's audio costs a call: `call_capacity.py`'s calls per line.

Per-frame work in the pipeline (the session forwarding each frame, the VAD pushing and
resampling it through livekit's FFI, the recogniser's push) scales with the frames a
second and with the resampling the rate needs, so the same call costs more CPU on the
carrier's 20 ms 8 kHz frames than on the 50 ms frames a LiveKit room hands the agent,
and a room asked for 16 kHz (the VAD's rate) spares the VAD's resampler. Each
(repetition, line) runs in a fresh process, lines alternating in order run by run, so
the machine's other load falls on every line alike; figures are ratios to the first line.

Run: .venv/bin/python bench/line_cost.py --shape production --calls 5 --reps 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.call_capacity import SHAPES, _run_child  # noqa: E402
from bench.capacity_call import LINES  # noqa: E402

LAG_ENV = "LIVEKIT_AGENTS_LOOP_BLOCK_WARN_MS"
KEYS = (
    ("CPU ms/call-s", "cpu"),
    ("steady CPU ms/call-s", "steady_cpu_ms_per_call_s"),
    ("start-up CPU ms/call", "startup_cpu_ms"),
)


def _figures(run: dict[str, Any]) -> dict[str, float | None]:
    return {
        "cpu": 1000 * run["cpu_seconds"] / run["call_seconds"],
        "steady_cpu_ms_per_call_s": run.get("steady_cpu_ms_per_call_s"),
        "startup_cpu_ms": run.get("startup_cpu_ms"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--lines",
        default="phone,room,room16",
        help="e.g. phone,room16; a line+thread runs the VAD's inference on a thread of "
        "its own (production shape), +lag250 ticks livekit-agents' loop monitor every 50 ms",
    )
    parser.add_argument("--shape", choices=SHAPES, default="production")
    parser.add_argument("--variant", choices=("ours", "bare"), default="ours")
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    lines = [x.strip() for x in args.lines.split(",") if x.strip()]
    if not lines or any(x.split("+")[0] not in LINES for x in lines):
        parser.error(f"--lines takes some of {', '.join(LINES)} (got {args.lines!r})")
    if args.calls < 1 or args.reps < 1:
        parser.error("--calls and --reps must be 1 or more")
    child = argparse.Namespace(shape=args.shape, profile="fakes", executor="process")
    got: dict[str, list[dict[str, float | None]]] = {x: [] for x in lines}
    for rep in range(args.reps):
        for line in lines if rep % 2 == 0 else lines[::-1]:
            child.line, *extras = line.split("+")
            child.vad = "thread" if "thread" in extras else "inline"
            # livekit-agents' event-loop monitor ticks every warn/5 s (20 ms at its 100 ms
            # default, 50 ms from 250 ms on): "+lag250" measures what the ticks cost
            if "lag250" in extras:
                os.environ[LAG_ENV] = "250"
            else:
                os.environ.pop(LAG_ENV, None)
            run = _run_child(args.variant, args.calls, child)
            got[line].append(_figures(run))
            failures = len(run["failures"])
            print(f"rep {rep + 1} {line}: {got[line][-1]} {failures} failures", file=sys.stderr)
    print(
        f"\n`bench/line_cost.py --shape {args.shape} --variant {args.variant} "
        f"--calls {args.calls} --reps {args.reps} --lines {','.join(lines)}`\n"
    )
    print("| line | " + " | ".join(f"{name} (× {lines[0]})" for name, _ in KEYS) + " |")
    print("|---|" + "---:|" * len(KEYS))
    base = {key: _median(got[lines[0]], key) for _, key in KEYS}
    for line in lines:
        cells = []
        for _, key in KEYS:
            value, ref = _median(got[line], key), base[key]
            ratio = f" ({value / ref:.2f})" if value is not None and ref else ""
            cells.append("-" if value is None else f"{value:.1f}{ratio}")
        print(f"| {line} | " + " | ".join(cells) + " |")


def _median(runs: list[dict[str, float | None]], key: str) -> float | None:
    values = [v for r in runs if (v := r[key]) is not None]
    return statistics.median(values) if values else None


if __name__ == "__main__":
    main()
