"""CPU and memory of a process tree, from /proc (Linux), for the capacity benchmark.

A call's cost is spread over processes: the job process, the recogniser worker it
starts, the forkserver that forks both. A recogniser worker is reaped by the forkserver,
not by its job, so neither `RUSAGE_CHILDREN` nor the job's own counters see it: the
tree is walked by parent id instead and every process's counters are read while it is
alive.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of `pid`, or None once it has gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            text = stat.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # after the name: state ppid ... utime is field 14 of the whole line, stime 15
    return int(fields[1]), (int(fields[11]) + int(fields[12])) * TICK_S


def descendants(root: int) -> dict[int, float]:
    """Every process below `root` (not `root` itself) with its CPU seconds so far."""
    parents: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            got = _stat(int(entry))
            if got is not None:
                parents[int(entry)] = got
    found: dict[int, float] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, cpu) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = cpu
                frontier.append(pid)
    return found


def cpu_seconds(pid: int) -> float:
    got = _stat(pid)
    return 0.0 if got is None else got[1]


def memory_mb(pid: int) -> tuple[float, float] | None:
    """(USS, PSS) of `pid` in MB: its private pages, and its fair share of shared ones."""
    fields: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as smaps:
            for row in smaps:
                parts = row.split()
                if len(parts) >= 2 and parts[1].isdigit():
                    fields[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        return None
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return uss / 1024, fields.get("Pss", 0) / 1024


@dataclass
class CpuLedger:
    """CPU spent by a changing set of processes from `start` on.

    A process's counters are cumulative, so the last reading of each is kept; one that
    exits between readings loses at most one sampling period of CPU.
    """

    base: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    def start(self, readings: dict[int, float]) -> None:
        self.base = dict(readings)
        self.last = dict(readings)

    def update(self, readings: dict[int, float]) -> None:
        self.last.update(readings)

    def total(self) -> float:
        return sum(cpu - self.base.get(pid, 0.0) for pid, cpu in self.last.items())
