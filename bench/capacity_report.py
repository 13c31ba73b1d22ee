"""Rows, ratios and ready-to-paste markdown tables for `call_capacity.py`'s runs."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

WITHIN = 1.20


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _cpu(run: dict[str, Any]) -> float:
    return 1000 * float(run["cpu_seconds"]) / float(run["call_seconds"])


def _spread(values: list[float | None]) -> tuple[float, float] | None:
    present = [v for v in values if v is not None]
    return (min(present), max(present)) if len(present) > 1 else None


def summarize(runs: list[dict[str, Any]], variants: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per (N, variant): pooled turns, medians over repetitions, and the spread
    (lowest, highest) of each repetition's p90 and CPU."""
    rows: list[dict[str, Any]] = []
    for calls in sorted({r["calls"] for r in runs}):
        for variant in variants:
            mine = [r for r in runs if r["calls"] == calls and r["variant"] == variant]
            if not mine:
                continue
            turns = [x for r in mine for x in r["latencies_ms"]]
            row: dict[str, Any] = {
                "calls": calls,
                "variant": variant,
                "turns": len(turns),
                "latency_median_ms": percentile(turns, 50),
                "latency_p90_ms": percentile(turns, 90),
                "cpu_ms_per_call_s": _median([_cpu(r) for r in mine]),
                "p90_spread_ms": _spread([percentile(r["latencies_ms"], 90) for r in mine]),
                "cpu_spread": _spread([_cpu(r) for r in mine]),
                "loop_lag_p99_ms": _median([r.get("loop_lag_p99_ms") for r in mine]),
                "input_lag_p99_ms": _median([r.get("input_lag_p99_ms") for r in mine]),
                "input_lag_max_ms": max(
                    (r["input_lag_max_ms"] for r in mine if r.get("input_lag_max_ms") is not None),
                    default=None,
                ),
                "failures": sum(len(r["failures"]) for r in mine),
            }
            for key in ("startup_cpu_ms", "steady_cpu_ms_per_call_s", "other_cpu_ms"):
                row[key] = _median([r.get(key) for r in mine])
            for key in ("call_uss_mb", "call_pss_mb", "call_rss_mb", "idle_uss_mb", "idle_pss_mb"):
                row[key] = _median([r.get(key) for r in mine])
            for key in ("ready_ms", "launch_ms"):
                row[key] = percentile([x for r in mine for x in r.get(key, [])], 50)
            rows.append(row)
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


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def _diff(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def cpu_ratio_spread(
    runs: list[dict[str, Any]], calls: int, variant: str = "ours"
) -> tuple[float, float] | None:
    """(lowest, highest) of `variant`'s CPU over bare's, repetition by repetition."""
    by_rep: dict[int, dict[str, float]] = {}
    for run in runs:
        if run["calls"] == calls:
            by_rep.setdefault(run.get("rep", 0), {})[run["variant"]] = _cpu(run)
    found = [r[variant] / r["bare"] for r in by_rep.values() if variant in r and r.get("bare")]
    return _spread(list(found))


def ratios(
    rows: list[dict[str, Any]], runs: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every variant against bare at each N: CPU and memory as ratios, latency as a
    difference, and the CPU ratio's spread over repetitions when `runs` are given."""
    out = []
    for calls in sorted({r["calls"] for r in rows}):
        bare = next((r for r in rows if r["calls"] == calls and r["variant"] == "bare"), None)
        if bare is None:
            continue
        for ours in (r for r in rows if r["calls"] == calls and r["variant"] != "bare"):
            out.append(
                {
                    "calls": calls,
                    "variant": ours["variant"],
                    "median_diff_ms": _diff(ours["latency_median_ms"], bare["latency_median_ms"]),
                    "p90_diff_ms": _diff(ours["latency_p90_ms"], bare["latency_p90_ms"]),
                    "cpu_ratio": _ratio(ours["cpu_ms_per_call_s"], bare["cpu_ms_per_call_s"]),
                    "cpu_ratio_spread": cpu_ratio_spread(runs or [], calls, ours["variant"]),
                    "steady_cpu_ratio": _ratio(
                        ours.get("steady_cpu_ms_per_call_s"), bare.get("steady_cpu_ms_per_call_s")
                    ),
                    "uss_ratio": _ratio(ours["call_uss_mb"], bare["call_uss_mb"]),
                }
            )
    return out


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


COLUMNS = (
    ("N", "calls", "d"),
    ("variant", "variant", "s"),
    ("turns", "turns", "d"),
    ("median ms", "latency_median_ms", ".0f"),
    ("p90 ms", "latency_p90_ms", ".0f"),
    ("p90 range ms", "p90_spread_ms", "range0"),
    ("CPU ms/call-s", "cpu_ms_per_call_s", ".1f"),
    ("CPU range", "cpu_spread", "range1"),
    ("steady CPU ms/call-s", "steady_cpu_ms_per_call_s", ".1f"),
    ("start-up CPU ms/call", "startup_cpu_ms", ".0f"),
    ("other CPU ms/call", "other_cpu_ms", ".0f"),
    ("USS MB/call", "call_uss_mb", ".1f"),
    ("PSS MB/call", "call_pss_mb", ".1f"),
    ("idle USS MB", "idle_uss_mb", ".1f"),
    ("idle PSS MB", "idle_pss_mb", ".1f"),
    ("ready ms", "ready_ms", ".0f"),
    ("launch ms", "launch_ms", ".0f"),
    ("lag p99 ms", "loop_lag_p99_ms", ".1f"),
    ("input lag p99 ms", "input_lag_p99_ms", ".0f"),
    ("input lag max ms", "input_lag_max_ms", ".0f"),
    ("failures", "failures", "d"),
)


def _cell(value: Any, spec: str) -> str:
    if value is None:
        return "-"
    if spec.startswith("range"):
        digits = spec[-1]
        return f"{value[0]:.{digits}f}–{value[1]:.{digits}f}"
    return str(value) if spec == "s" else format(value, spec)


def markdown(
    rows: list[dict[str, Any]], by_n: list[dict[str, Any]], variants: tuple[str, ...]
) -> str:
    """The run as markdown tables: per (N, variant), then ours against bare."""
    used = [c for c in COLUMNS if any(r.get(c[1]) is not None for r in rows)]
    lines = [
        "| " + " | ".join(c[0] for c in used) + " |",
        "|" + "|".join("---:" for _ in used) + "|",
    ]
    lines += [
        "| " + " | ".join(_cell(r.get(key), spec) for _, key, spec in used) + " |" for r in rows
    ]
    if by_n:
        lines += [
            "",
            "| N | variant | − bare median ms | − bare p90 ms | CPU / bare | CPU / bare range "
            "| steady CPU / bare | USS / bare |",
            "|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['calls']} | {r['variant']} | {fmt(r['median_diff_ms'], '+.0f')} "
            f"| {fmt(r['p90_diff_ms'], '+.0f')} "
            f"| {fmt(r['cpu_ratio'], '.2f')} | {_cell(r.get('cpu_ratio_spread'), 'range2')} "
            f"| {fmt(r.get('steady_cpu_ratio'), '.2f')} | {fmt(r['uss_ratio'], '.2f')} |"
            for r in by_n
        ]
    lines.append("")
    lines += [
        f"Largest N with p90 within +20 % of the smallest N ({v}): {capacity(rows, v)}"
        for v in variants
    ]
    return "\n".join(lines)


def sizing_markdown(
    per_profile: dict[str, list[dict[str, Any]]], commands: dict[str, str], cores: int
) -> str:
    """The operators' table: calls per core and memory per call, with each command."""
    lines = [
        "| profile | calls within +20 % p90 (per core) | CPU ms per call-second "
        "| calls per core by CPU | USS MB per call | PSS MB per call | idle job process USS MB "
        "| command |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for profile, rows in per_profile.items():
        largest = capacity(rows, "ours")
        at = next((r for r in rows if r["calls"] == largest), rows[-1]) if rows else {}
        cpu = at.get("cpu_ms_per_call_s")
        lines.append(
            f"| {profile} | {fmt(largest, 'd') if largest else '-'} "
            f"({fmt(largest / cores if largest else None, '.1f')}) | {fmt(cpu, '.1f')} "
            f"| {fmt(1000 / cpu if cpu else None, '.0f')} | {fmt(at.get('call_uss_mb'), '.1f')} "
            f"| {fmt(at.get('call_pss_mb'), '.1f')} | {fmt(at.get('idle_uss_mb'), '.1f')} "
            f"| `{commands[profile]}` |"
        )
    return "\n".join(lines)
