"""Finding and loading the agent programs a deployer edits (`agents/*.py`).

The agents are plain files, not part of the installed package: a deployer changes
`agents/receptionist.py` the way they would any LiveKit agent, and runs it either the
LiveKit way (`python agents/receptionist.py start`) or through `dialtone start`. The
simulator and the console load the same file, so a simulated call exercises the agent
that will answer the phone.

The folder is, in this order: `DIALTONE_AGENTS_DIR`; `./agents` when it holds the
program; the project folder's `agents/` (`dialtone/project.py`); the `agents/` folder
beside the `dialtone` package (a source checkout, or `/app` in the Docker image).
"""

from __future__ import annotations

import importlib.util
import runpy
import sys
import threading
from pathlib import Path
from types import ModuleType

from .config import BESIDE_PACKAGE, ConfigError
from .project import project_dir

AGENTS_DIR_ENV = "DIALTONE_AGENTS_DIR"
_MODULE_PREFIX = "dialtone_agent_"
# Calls on threads of one process (worker groups) load a program at the same moment: one
# loads it, the others wait, or they would take the half-run module from `sys.modules`.
_LOADING = threading.RLock()


class ProgramError(ConfigError):
    """An agent program is missing or does not load; the message says where to look."""


def _candidates(name: str, directory: Path | None) -> list[Path]:
    if directory is not None:
        return [directory.expanduser() / f"{name}.py"]
    folders = [Path.cwd(), project_dir(), BESIDE_PACKAGE]
    unique = list(dict.fromkeys(folder.resolve() for folder in folders))
    return [folder / "agents" / f"{name}.py" for folder in unique]


def program_path(name: str, directory: Path | None = None) -> Path:
    """The file of agent program `name` (e.g. "receptionist").

    `directory` is the configured folder (`Settings.agents_dir`), if any.
    """
    candidates = _candidates(name, directory)
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise ProgramError(
        f"agent program {name}.py not found (looked in {looked}); "
        f"set {AGENTS_DIR_ENV} to the folder that holds it"
    )


def load_program(name: str, directory: Path | None = None) -> ModuleType:
    """Import agent program `name` once per process (its classes must stay the same)."""
    module_name = f"{_MODULE_PREFIX}{name}"
    with _LOADING:
        loaded = sys.modules.get(module_name)
        if loaded is not None:
            return loaded
        return _load(module_name, program_path(name, directory))


def _load(module_name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ProgramError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[module_name]
        raise ProgramError(f"{path}:{exc.lineno}: {exc.msg}") from None
    except Exception:
        del sys.modules[module_name]
        raise
    return module


def run_program(name: str, args: list[str], directory: Path | None = None) -> None:
    """Run agent program `name` as `python agents/<name>.py <args>` would, in-process.

    Run as `__main__`, so livekit-agents' job processes import the file the way they do
    for any agent script (by its path) and find its entrypoint.
    """
    path = program_path(name, directory)
    sys.argv = [str(path), *args]
    runpy.run_path(str(path), run_name="__main__")
