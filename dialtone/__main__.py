"""The `dialtone` command line.

Worker commands (`dev`, `start`, `connect`, `download-files`) run the agent program
(`agents/receptionist.py`, `agents/reminder.py`) as `python agents/<name>.py <command>`
would, so livekit-agents' flags and behaviour are the documented ones; `dev` adds
reload on save (`cli/reload.py`). `console` is dialtone's own (`dialtone/console/`).
Heavy imports happen inside each command: `dialtone trunks validate` should not pay the
seconds it takes to import the speech stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli.calls import app as calls_app
from .cli.campaigns import app as campaigns_app
from .cli.console import console
from .cli.db import app as db_app
from .cli.dev import run_dev, worker_settings
from .cli.doctor import doctor
from .cli.run import run
from .cli.serve import serve
from .cli.trunks import app as trunks_app
from .cli.users import app as users_app
from .config import ConfigError

app = typer.Typer(
    help="dialtone: phone calls for LiveKit voice agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(trunks_app, name="trunks")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(calls_app, name="calls")
app.command("doctor")(doctor)
app.command("serve")(serve)  # `dialtone campaigns serve` is the same command
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.command("console")(console)
app.command("run")(run)  # `make run`

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _run_worker(command: str, extra: list[str], agent: str = "receptionist") -> None:
    """Run agent program `agents/<agent>.py` with livekit-agents' command `command`."""
    from .programs import run_program

    settings = worker_settings(agent, command)
    run_program(agent, [command, *extra], settings.agents_dir)


def _worker_command(name: str, doc: str) -> None:
    def command(ctx: typer.Context) -> None:
        _run_worker(name, list(ctx.args))

    command.__doc__ = doc
    app.command(name, context_settings=_PASSTHROUGH)(command)


_Reload = Annotated[
    bool,
    typer.Option(
        "--reload/--no-reload",
        help="Restart the worker when a persona YAML, an agent program (agents/*.py) or a "
        "Python file of the dialtone package is saved.",
    ),
]


@app.command("dev", context_settings=_PASSTHROUGH)
def dev(ctx: typer.Context, reload: _Reload = True) -> None:
    """Run the worker against LIVEKIT_URL, restarted on save (--no-reload: run once).

    Other options go to livekit-agents' `dev` command.
    """
    run_dev("receptionist", list(ctx.args), reload=reload)


_worker_command("start", "Run the worker in production mode.")
_worker_command("connect", "Connect the worker to one existing room.")
_worker_command("download-files", "Fetch the plugins' model files ahead of time.")

reminder_app = typer.Typer(
    help="The outbound reminder worker (agent `reminder`, dispatched by campaigns).",
    no_args_is_help=True,
)
app.add_typer(reminder_app, name="reminder")


def _reminder_command(name: str, doc: str) -> None:
    def command(ctx: typer.Context) -> None:
        _run_worker(name, list(ctx.args), agent="reminder")

    command.__doc__ = doc
    reminder_app.command(name, context_settings=_PASSTHROUGH)(command)


@reminder_app.command("dev", context_settings=_PASSTHROUGH)
def reminder_dev(ctx: typer.Context, reload: _Reload = True) -> None:
    """Run the reminder worker against LIVEKIT_URL, restarted on save (see `dialtone dev`)."""
    run_dev("reminder", list(ctx.args), reload=reload)


_reminder_command("start", "Run the reminder worker in production mode.")


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="A scenario YAML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for the recording and report.")
    ] = None,
) -> None:
    """Play a simulated phone call through the real agent pipeline; exit 1 if it fails."""
    from .simulate.cli import run_simulation

    try:
        ok = run_simulation(scenario, as_json=as_json, out_dir=out)
    except ConfigError as exc:
        _fail(str(exc))
        return
    except KeyboardInterrupt:
        typer.secho("interrupted: the simulated call was stopped", err=True)
        raise typer.Exit(130) from None
    raise typer.Exit(0 if ok else 1)


def main() -> None:
    try:
        app()
    except Exception as exc:
        from .cli.errors import explain

        message = explain(exc)
        if message is None:
            raise
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
