"""The project folder: where `.env`, `personas/`, `agents/`, `trunks/` and `data/` live.

Every entry point (`dialtone ...`, `python agents/receptionist.py start`, a job process
the worker forks) must agree on one folder, or a worker started from another directory
reads no `.env` and a `dialtone calls list` from there opens a new, empty database.
The folder is, in this order:

1. `DIALTONE_PROJECT_DIR`, when set (the worker sets it for its job processes, so a
   call reads the same `.env` as the worker that took it);
2. the current directory, when it is a project (it holds `.env`, `agents/` or
   `personas/`): the usual case, `cd my-clinic && dialtone start`;
3. the folder an agent program was started from (`python ~/clinic/agents/receptionist.py`
   run from anywhere), when that folder is a project;
4. the folder beside the installed `dialtone` package (a source checkout, or `/app` in
   the image), when it is a project;
5. else the current directory.

Only the standard library here: `config` imports this before anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR_ENV = "DIALTONE_PROJECT_DIR"
ENV_FILE = ".env"

#: The folder that holds the `dialtone` package: a source checkout, or `/app` in the
#: image. Its `agents/`, `personas/`, `trunks/` and `tests/scenarios/` are the defaults
#: a command falls back to when run from another directory.
BESIDE_PACKAGE = Path(__file__).resolve().parent.parent


def is_project(folder: Path) -> bool:
    """Whether `folder` looks like a dialtone project (not, say, site-packages)."""
    return (
        (folder / ENV_FILE).is_file()
        or (folder / "personas").is_dir()
        or (folder / "agents" / "receptionist.py").is_file()
        or (folder / "agents" / "reminder.py").is_file()
    )


def project_dir(program: Path | None = None) -> Path:
    """The project folder (see the module's docstring for the order).

    `program` is the agent program file being run as a script, if any.
    """
    configured = os.environ.get(PROJECT_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    cwd = Path.cwd()
    candidates = [cwd]
    if program is not None:
        candidates.append(program.resolve().parent.parent)
    candidates.append(BESIDE_PACKAGE)
    for folder in candidates:
        if is_project(folder):
            return folder.resolve()
    return cwd.resolve()


def env_file(project: Path | None = None) -> Path | None:
    """The project's `.env`, or None when it has none (settings then come from the
    environment and the defaults only)."""
    path = (project or project_dir()) / ENV_FILE
    return path if path.is_file() else None
