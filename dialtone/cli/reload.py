"""`dialtone dev` reloads on save: livekit-agents 1.8.9 removed its own auto-reload.

The worker runs as a child process; watchfiles restarts it when a persona file
(`*.yaml` in the persona folder), an agent program (`*.py` in the agents folder) or a
Python file of the dialtone package changes. Nothing else triggers a restart: trunk
files, `.env` and the settings are read at start, so change them and restart by hand.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

import dialtone

PACKAGE_DIR = Path(dialtone.__file__).resolve().parent
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class Watched:
    """What a change to restarts the worker for."""

    persona_dir: Path
    agents_dir: Path
    package_dir: Path = PACKAGE_DIR

    def folders(self) -> list[Path]:
        return [p for p in (self.persona_dir, self.agents_dir, self.package_dir) if p.is_dir()]


class ReloadFilter(DefaultFilter):
    """Persona YAML, agent programs and the package's Python; not caches or editors'
    swap files (DefaultFilter)."""

    def __init__(self, watched: Watched) -> None:
        super().__init__()
        self._personas = watched.persona_dir.resolve()
        self._code = (watched.agents_dir.resolve(), watched.package_dir.resolve())

    def __call__(self, change: Change, path: str) -> bool:
        if not super().__call__(change, path):
            return False
        file = Path(path).resolve()
        if file.suffix in (".yaml", ".yml"):
            return file.is_relative_to(self._personas)
        if file.suffix == ".py":
            return any(file.is_relative_to(folder) for folder in self._code)
        return False


def run_with_reload(
    command: list[str],
    *,
    watched: Watched,
    on_restart: Callable[[list[str]], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run `command`, restarting it on each relevant save, until Ctrl-C (or `stop`).

    Returns how many times it restarted. `on_restart` gets the changed files. A worker
    is stopped as Ctrl-C stops it (SIGINT: it drains its jobs), killed after a grace.
    """
    restarts = 0
    worker = subprocess.Popen(command)
    told = False
    try:
        for changes in watch(
            *watched.folders(),
            watch_filter=ReloadFilter(watched),
            debounce=400,
            stop_event=stop,
            raise_interrupt=False,
            rust_timeout=1000,
            yield_on_timeout=True,  # an empty set each second: did the worker stop?
        ):
            if not changes:
                if worker.poll() is not None and not told:
                    told = True
                    # Otherwise `dialtone dev` would sit silent after the worker died
                    print(
                        f"the worker stopped (exit status {worker.returncode}); fix the "
                        "problem above and save, or Ctrl-C to quit",
                        file=sys.stderr,
                        flush=True,
                    )
                continue
            told = False
            _stop(worker)
            if on_restart is not None:
                on_restart(sorted(path for _, path in changes))
            worker = subprocess.Popen(command)
            restarts += 1
    finally:
        _stop(worker)
    return restarts


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGINT)
    try:
        worker.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
