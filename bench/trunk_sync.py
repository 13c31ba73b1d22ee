"""Benchmark: plan and apply 500 inbound trunks + 500 outbound trunks + 500 rules.

Runs against the LiveKit API double (started here) through the real `livekit-api`
client, so List/Create/Update travel as protobuf over HTTP like in production.
Prints figures, asserts nothing: plan wall time (goal < 1 s), API calls per change on
the first apply (goal exactly 1), write calls on a re-run (goal 0), then a 10-object
edit. The first apply also pays scrypt once per password (by design, see
dialtone/trunkspec/secrets.py); its wall time is printed separately.

    .venv/bin/python bench/trunk_sync.py [--count 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livekit.api import LiveKitAPI  # noqa: E402

from dialtone.personas import PersonaBook  # noqa: E402
from dialtone.trunkspec.apply import apply_plan  # noqa: E402
from dialtone.trunkspec.live import read_live  # noqa: E402
from dialtone.trunkspec.loader import load_directory  # noqa: E402
from dialtone.trunkspec.plan import Plan, compute_plan  # noqa: E402
from dialtone.wire import KNOWN_AGENT_NAMES  # noqa: E402
from tests.livekit_double import LiveKitDouble  # noqa: E402

WRITES = {
    "CreateSIPInboundTrunk",
    "CreateSIPOutboundTrunk",
    "CreateSIPDispatchRule",
    "UpdateSIPInboundTrunk",
    "UpdateSIPOutboundTrunk",
    "UpdateSIPDispatchRule",
    "DeleteSIPTrunk",
    "DeleteSIPDispatchRule",
}
FILES = 5


def generate(directory: Path, count: int, *, edited: int = 0) -> None:
    """`count` of each kind over FILES files; the first `edited` inbound trunks changed."""
    per_file = count // FILES
    for f in range(FILES):
        lines = ["inbound_trunks:"]
        for i in range(f * per_file, (f + 1) * per_file):
            lines += [
                f"  - name: in-{i:04d}",
                f'    numbers: ["+1555{i:07d}"]',
                "    allowed_addresses: [54.172.60.0/30, 54.244.51.0/30]",
                f"    krisp: {'false' if i < edited else 'true'}",
            ]
        lines.append("outbound_trunks:")
        for i in range(f * per_file, (f + 1) * per_file):
            lines += [
                f"  - name: out-{i:04d}",
                f"    address: trunk-{i}.pstn.example.com",
                "    transport: tls",
                f'    numbers: ["+1555{i:07d}"]',
                '    auth: {username: dialtone, password: "${BENCH_SIP_PASSWORD}"}',
            ]
        lines.append("dispatch_rules:")
        for i in range(f * per_file, (f + 1) * per_file):
            lines += [
                f"  - name: rule-{i:04d}",
                f"    trunks: [in-{i:04d}]",
                f'    numbers: ["+1555{i:07d}"]',
                "    agent: receptionist",
                "    persona: receptionist",
            ]
        (directory / f"part-{f}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def writes(double: Any) -> int:
    return sum(1 for c in double.calls if getattr(c, "method", c) in WRITES)


async def timed_plan(api: LiveKitAPI, directory: Path, personas: set[str]) -> tuple[Plan, float]:
    started = time.perf_counter()
    state = load_directory(directory)
    live = await read_live(api.sip)
    plan = compute_plan(state, live, agent_names=KNOWN_AGENT_NAMES, personas=personas)
    return plan, time.perf_counter() - started


async def main(count: int) -> None:
    os.environ.setdefault("BENCH_SIP_PASSWORD", "bench-password-not-secret")
    personas = set(PersonaBook.load(REPO / "personas", default="receptionist").personas)
    with (
        tempfile.TemporaryDirectory() as tmp,
        LiveKitDouble(
            api_key="devkey", api_secret="a-secret-at-least-32-characters-long!!"
        ) as double,
    ):
        directory = Path(tmp)
        generate(directory, count)
        api = LiveKitAPI(double.url, double.api_key, double.api_secret)
        try:
            print(f"objects: {count} inbound + {count} outbound + {count} rules, {FILES} files")

            plan, seconds = await timed_plan(api, directory, personas)
            print(f"plan (empty server):        {seconds * 1000:8.1f} ms  {plan.counts()}")
            double.calls.clear()
            started = time.perf_counter()
            report = await apply_plan(plan, load_directory(directory), api.sip)
            apply_s = time.perf_counter() - started
            n = len(plan.changes)
            print(
                f"apply:                      {apply_s * 1000:8.1f} ms  ok={report.ok} "
                f"changes={n} write calls={writes(double)} "
                f"calls/change={writes(double) / n:.3f}"
            )

            double.calls.clear()
            plan, seconds = await timed_plan(api, directory, personas)
            print(f"plan (in sync, {3 * count} live):  {seconds * 1000:8.1f} ms  {plan.counts()}")
            report = await apply_plan(plan, load_directory(directory), api.sip)
            print(
                f"re-apply:                   write calls={writes(double)} "
                f"(list calls={len(double.calls) - writes(double)})"
            )

            generate(directory, count, edited=10)
            double.calls.clear()
            plan, seconds = await timed_plan(api, directory, personas)
            report = await apply_plan(plan, load_directory(directory), api.sip)
            print(
                f"edit 10 trunks: plan {seconds * 1000:.1f} ms {plan.counts()}, "
                f"write calls={writes(double)}"
            )
        finally:
            await api.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    asyncio.run(main(parser.parse_args().count))
