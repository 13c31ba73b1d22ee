"""bench/call_capacity.py keeps working and stays fair: the lead re-runs it after every
change to the call path, and a benchmark that broke quietly would publish an old figure
as new; one whose bare variant differs from ours in more than dialtone would publish
that difference as dialtone's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.capacity_report import capacity, markdown, sizing_markdown
from bench.capacity_setup import Profile, describe_call, make_setup
from dialtone.simulate.call_io import CallerLine
from dialtone.simulate.recording import CallClock, Recording

ROOT = Path(__file__).resolve().parents[1]


def _row(calls: int, p90: float, failures: int = 0) -> dict[str, object]:
    return {
        "calls": calls,
        "variant": "ours",
        "turns": 4 * calls,
        "latency_median_ms": p90 - 20,
        "latency_p90_ms": p90,
        "cpu_ms_per_call_s": 40.0,
        "call_uss_mb": 50.0,
        "call_pss_mb": 70.0,
        "idle_uss_mb": 20.0,
        "failures": failures,
    }


def test_capacity_is_the_last_n_within_twenty_percent_of_the_first() -> None:
    rows = [_row(1, 700), _row(10, 830), _row(20, 850), _row(30, 700)]
    assert capacity(rows, "ours") == 10  # 850 > 1.2 x 700 ends it, later rows do not count


def test_a_run_with_failed_calls_ends_the_capacity() -> None:
    assert capacity([_row(1, 700), _row(10, 700, failures=1)], "ours") == 1


def test_the_tables_are_markdown_with_every_figure() -> None:
    rows = [_row(1, 700), _row(10, 800)]
    table = markdown(rows, [], ("ours",))
    assert table.splitlines()[0].startswith("| N | variant | turns | median ms | p90 ms |")
    assert "| 10 | ours | 40 | 780 | 800 | 40.0 | 50.0 | 70.0 | 20.0 |" in table
    sizing = sizing_markdown({"cloud": rows}, {"cloud": "bench/call_capacity.py --x"}, 2)
    row = "| cloud | 10 (5.0) | 40.0 | 25 | 50.0 | 70.0 | 20.0 | `bench/call_capacity.py --x` |"
    assert row in sizing


def test_bad_call_counts_are_one_line_naming_the_option() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "call_capacity.py"), "--calls", "1,x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "--calls takes numbers separated by commas" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.audio
def test_one_call_in_the_production_shape(tmp_path: Path) -> None:
    """One job process from the worker's pool runs the scripted call and is measured."""
    out = tmp_path / "capacity.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "call_capacity.py"),
            "--shape",
            "production",
            "--variants",
            "ours",
            "--calls",
            "1",
            "--reps",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert (row["turns"], row["failures"]) == (4, 0)
    assert row["idle_uss_mb"] > 0 and row["call_pss_mb"] > row["idle_pss_mb"] > 0
    assert row["cpu_ms_per_call_s"] > 0 and row["launch_ms"] is not None
    assert "| N | variant |" in done.stdout


def _call_config(variant: str, profile: Profile, tmp_path: Path) -> dict[str, object]:
    setup = make_setup(
        variant=variant,
        profile=profile,
        audio={},
        instructions="Be brief.",
        greeting="Hello.",
        data_dir=tmp_path / variant,
    )
    clock = CallClock()
    providers = setup.providers(CallerLine(clock, Recording(keep=False)), clock)
    return describe_call(setup, providers)


@pytest.mark.parametrize("profile", ["fakes", "cloud"])
async def test_both_variants_run_the_same_call_below_the_agent(
    profile: Profile, tmp_path: Path
) -> None:
    """Same VAD (class, tuning, executor), same providers under dialtone's wrappers, same
    line framing: what is left between them is dialtone."""
    ours = _call_config("ours", profile, tmp_path)
    bare = _call_config("bare", profile, tmp_path)
    assert ours == bare
    assert ours["vad"]["executor"] == "inline"  # type: ignore[index]


async def test_a_cloud_call_runs_one_vad_stream_as_on_deepgram(tmp_path: Path) -> None:
    """Deepgram streams: a non-streaming fake gets a StreamAdapter and a second VAD
    stream per call, work a real cloud call does not do."""
    ours = _call_config("ours", "cloud", tmp_path)
    assert (ours["stt_streams"], ours["vad_streams_per_call"]) == (True, 1)


def _pool_config(variant: str) -> dict[str, object]:
    done = subprocess.run(  # a fresh process: plugins register for the whole process
        [sys.executable, "-m", "bench.capacity_jobs", "--describe", variant],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    config: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return config


def test_both_variants_job_processes_are_set_up_alike_but_for_dialtone() -> None:
    """The production shape's pool: the prewarmed VAD, the plugins the forkserver
    preloads, the idle processes and memory limits are the same; only dialtone's own
    modules are left out of the comparison."""
    ours, bare = _pool_config("ours"), _pool_config("bare")
    assert ours == bare
    assert "livekit.plugins.silero" not in ours["plugins"]  # type: ignore[operator]
    assert ours["idle_processes"] == 4  # as `dialtone start` sets it
