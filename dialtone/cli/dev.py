"""`dialtone dev` and `dialtone reminder dev`: the worker against LIVEKIT_URL, restarted
on save (`reload.py`); `--no-reload` runs it once, as livekit-agents' `dev` does."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from ..config import ConfigError, Settings, load_settings
from ..programs import program_path


def run_dev(agent: str, extra: list[str], *, reload: bool) -> None:
    """Run agent program `agent` in livekit-agents' dev mode, restarted on save."""
    from .reload import Watched, run_with_reload

    settings = worker_settings(agent, "dev")
    if not reload:
        from ..programs import run_program

        run_program(agent, ["dev", *extra], settings.agents_dir)
        return
    program = program_path(agent, settings.agents_dir)
    watched = Watched(persona_dir=settings.persona_dir, agents_dir=program.parent)
    prefix = [] if agent == "receptionist" else [agent]
    command = [sys.executable, "-m", "dialtone", *prefix, "dev", "--no-reload", *extra]

    def restarted(files: list[str]) -> None:
        typer.secho(f"reloading: {', '.join(files)} changed", fg=typer.colors.CYAN, err=True)

    typer.secho(
        "watching personas, agent programs and the dialtone package; saving one restarts "
        "the worker",
        fg=typer.colors.CYAN,
        err=True,
    )
    run_with_reload(command, watched=watched, on_restart=restarted)


def worker_settings(agent: str, command: str) -> Settings:
    """The settings a worker command needs, checked before anything starts.

    A missing LiveKit setting or half a set of provider keys is one line here, not a
    worker (or a reloader waiting for a save) that dies with a traceback later.
    """
    try:
        settings = load_settings()
        program_path(agent, settings.agents_dir)
        if command in ("dev", "start", "connect"):
            settings.require_livekit()
        if command != "download-files":
            _ = settings.resolved_profile
    except ConfigError as exc:
        _fail(str(exc))
    return settings


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)
