"""Per-call cost and turn latency of the offline receptionist on this machine.

Plays the demo scenario N times through the real pipeline (espeak-ng caller, silero VAD,
pocketsphinx in its worker process, rule-based dialogue, espeak-ng agent) and prints,
per run and overall: turn latency (end of caller speech to first agent audio, median and
max), and CPU used per second of call (this process plus its children, so the
recogniser's worker is counted). Run: .venv/bin/python bench/simulated_call.py [N]
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DIALTONE_PROFILE", "offline")

from dialtone.config import load_settings  # noqa: E402
from dialtone.simulate.runner import simulate_call  # noqa: E402
from dialtone.simulate.scenario import load_scenario  # noqa: E402


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


async def main(runs: int) -> None:
    os.chdir(ROOT)
    scenario = load_scenario(ROOT / "tests/scenarios/receptionist_message.yaml")
    settings = load_settings()
    latencies: list[float] = []
    loads: list[float] = []
    for run in range(1, runs + 1):
        with tempfile.TemporaryDirectory() as out:
            cpu0, wall0 = cpu_seconds(), time.monotonic()
            report = await simulate_call(scenario, settings=settings, out_dir=Path(out))
            cpu, wall = cpu_seconds() - cpu0, time.monotonic() - wall0
        turns = [t.latency_ms for t in report.turns if t.latency_ms is not None]
        latencies += turns
        loads.append(cpu / report.duration_s)
        print(
            f"run {run}: {'PASS' if report.passed else 'FAIL'}  call {report.duration_s:.1f}s  "
            f"(wall {wall:.1f}s)  turns {len(turns)}  latency median "
            f"{statistics.median(turns):.0f} ms max {max(turns):.0f} ms  "
            f"CPU {cpu:.1f}s = {cpu / report.duration_s:.2f} cores"
        )
    print(
        f"overall: {len(latencies)} turns, latency median {statistics.median(latencies):.0f} ms, "
        f"max {max(latencies):.0f} ms; CPU per call second {statistics.median(loads):.2f} cores "
        f"(median of {runs} runs)"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
