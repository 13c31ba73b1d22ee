"""Worker groups: several calls per process, as many processes as cores, each restarted.

With `DIALTONE_CALLS_PER_PROCESS` above 1, `dialtone start` does not run one worker whose
every call forks a job process of its own: it runs `DIALTONE_WORKER_GROUPS` workers (one
per core by default), each a process that hosts up to that many calls on threads of its
own (livekit-agents' thread job executor) and registers with LiveKit by itself. A group
of calls shares a fate, not the whole machine's calls:

- a call whose code raises ends alone (its job's task fails; the others' threads and
  event loops go on);
- a call that takes its process down (a crash in native code, the kernel's OOM killer,
  `os._exit`) ends the calls of its group, and only those: the other groups are other
  processes. This supervisor starts the group again, so the group's capacity returns
  in about the time a worker takes to register.

The supervisor only starts, watches and stops processes; each group is the ordinary
worker (`dialtone.worker.run_agent`) told its index in `GROUP_ENV`.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

logger = logging.getLogger("dialtone.worker_groups")

#: The group a worker process is (0, 1, ...): set by the supervisor for each child.
GROUP_ENV = "DIALTONE_WORKER_GROUP"
#: A group that ran this long before exiting is restarted at once; one that dies sooner
#: waits, doubling up to `MAX_BACKOFF_S`, so a group that cannot start does not spin.
STABLE_S = 60.0
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
#: How long stopping waits for the groups to drain their calls before killing them
#: (livekit-agents' own drain timeout is 30 minutes by default: calls end on their own).
STOP_GRACE_S = 1800.0


def group_index(environ: Mapping[str, str] | None = None) -> int | None:
    """This process's group, or None when it is not a group (one worker, or the
    supervisor itself)."""
    raw = (os.environ if environ is None else environ).get(GROUP_ENV, "")
    return int(raw) if raw.isdigit() else None


@dataclass
class _Group:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = FIRST_BACKOFF_S
    restart_at: float | None = None
    restarts: int = 0


@dataclass(kw_only=True)
class GroupSupervisor:
    """Runs `groups` copies of `command`, each with `GROUP_ENV` set to its index.

    `poll` is one pass of watching (start what is due, note who exited); `run` loops it
    until a stop signal and then drains the groups. `clock` is injectable for tests.
    """

    command: Sequence[str]
    groups: int
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Callable[[], float] = time.monotonic
    _groups: list[_Group] = field(default_factory=list)
    _stopping: bool = False

    def __post_init__(self) -> None:
        if self.groups < 1:
            raise ValueError("a supervisor needs at least one group")
        self._groups = [_Group(index=i, restart_at=0.0) for i in range(self.groups)]

    def pids(self) -> list[int | None]:
        """Each group's process id (None while it waits to be started again)."""
        return [g.process.pid if g.process else None for g in self._groups]

    def restarts(self) -> list[int]:
        return [g.restarts for g in self._groups]

    def _start(self, group: _Group) -> None:
        env = {**self.environ, GROUP_ENV: str(group.index)}
        group.process = subprocess.Popen(list(self.command), env=env)
        group.started_at = self.clock()
        group.restart_at = None
        logger.info("worker group %d started (pid %d)", group.index, group.process.pid)

    def poll(self) -> None:
        now = self.clock()
        for group in self._groups:
            if group.process is not None:
                status = group.process.poll()
                if status is None:
                    continue
                ran = now - group.started_at
                group.process = None
                if self._stopping:
                    continue
                if ran >= STABLE_S:  # it had been serving: start it again at once
                    group.backoff_s, wait = FIRST_BACKOFF_S, 0.0
                else:  # it dies starting: wait, longer each time
                    wait = group.backoff_s
                    group.backoff_s = min(wait * 2, MAX_BACKOFF_S)
                group.restart_at = now + wait
                logger.error(
                    "worker group %d exited (status %s) after %.0f s: its calls ended; "
                    "the other groups' calls go on; starting it again in %.0f s",
                    group.index,
                    status,
                    ran,
                    wait,
                )
                group.restarts += 1
            if not self._stopping and group.restart_at is not None and now >= group.restart_at:
                self._start(group)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Tell every group to stop (SIGTERM: livekit-agents drains its calls first)."""
        self._stopping = True
        for group in self._groups:
            if group.process is not None and group.process.poll() is None:
                group.process.send_signal(sig)

    def wait(self, *, timeout: float = STOP_GRACE_S) -> None:
        """Wait for every group to exit after `stop`; kill what outlives `timeout`."""
        deadline = self.clock() + timeout
        for group in self._groups:
            if group.process is None:
                continue
            try:
                group.process.wait(timeout=max(deadline - self.clock(), 0.0))
            except subprocess.TimeoutExpired:
                logger.error("worker group %d did not drain in time: killing it", group.index)
                group.process.kill()
                group.process.wait()
            group.process = None

    def run(self, *, period_s: float = 0.5) -> int:
        """Start the groups and keep them running until SIGTERM or SIGINT."""
        stop_signal: list[int] = []

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            stop_signal.append(signum)

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not stop_signal:
                self.poll()
                time.sleep(period_s)
            logger.info("stopping %d worker groups: their calls drain first", self.groups)
            self.stop(signal.SIGTERM)
            self.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0
