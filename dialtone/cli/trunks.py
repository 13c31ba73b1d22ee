"""`dialtone trunks validate | plan | apply | export`.

Exit codes are for scripts and CI: validate 0 ok / 1 errors; plan 0 nothing to do /
2 changes pending / 1 error; apply 0 applied (or nothing to do) / 1 error or stopped
midway; export 0 / 1. Human output goes to stdout, problems to stderr; `--json` prints
one JSON document on stdout instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ..config import ConfigError, load_settings
from ..trunkspec.checks import check_state
from ..trunkspec.loader import DesiredState, load_directory
from ..trunkspec.problems import Problem, Severity, SpecError, errors
from ..wire import KNOWN_AGENT_NAMES

app = typer.Typer(
    help="Declarative SIP trunks and dispatch rules (trunks/*.yaml is the source of truth).",
    no_args_is_help=True,
)

DirOption = Annotated[
    Path, typer.Option("--dir", help="Directory of trunk files.", show_default=True)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
PruneOption = Annotated[
    bool, typer.Option("--prune", help="Delete dialtone-managed objects no longer in the files.")
]
AdoptOption = Annotated[
    bool,
    typer.Option(
        "--adopt", help="Take over live objects not made by dialtone whose name a file uses."
    ),
]
MassDeleteOption = Annotated[
    bool,
    typer.Option(
        "--allow-mass-delete",
        help="Let --prune delete every managed object of a kind, or more than half of them.",
    ),
]
DEFAULT_DIR = Path("trunks")


def _emit(text: str, *, err: bool = False) -> None:
    typer.echo(text, err=err)


def _fail(message: str, *, as_json: bool = False, code: int = 1) -> NoReturn:
    if as_json:
        _emit(json.dumps({"ok": False, "error": message}, indent=2))
    else:
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _report_problems(problems: list[Problem], *, as_json: bool) -> None:
    from ..trunkspec.plan import problem_json

    if as_json:
        _emit(
            json.dumps(
                {
                    "ok": not errors(problems),
                    "problems": [problem_json(p) for p in problems],
                },
                indent=2,
            )
        )
        return
    for problem in problems:
        color = typer.colors.RED if problem.severity is Severity.ERROR else typer.colors.YELLOW
        typer.secho(str(problem), fg=color, err=True)


def _personas() -> tuple[set[str] | None, str | None]:
    """The persona names a dispatch rule may ask for, or why they cannot be known."""
    from ..personas import PersonaBook

    try:
        settings = load_settings()
        book = PersonaBook.load(Path(settings.persona_dir), default=settings.default_persona)
    except ConfigError as exc:  # PersonaError is a ConfigError
        return None, str(exc)
    return set(book.personas), None


def _environment() -> dict[str, str]:
    """The process environment over the project's `.env`, as for every other setting
    (the same file from any directory: `dialtone/project.py`)."""
    from dotenv import dotenv_values

    from ..project import env_file

    path = env_file()
    dotenv = {k: v for k, v in dotenv_values(path).items() if v is not None} if path else {}
    return {**dotenv, **os.environ}


def _load(directory: Path, *, as_json: bool) -> DesiredState:
    if directory == DEFAULT_DIR:
        # The default means the configured folder: DIALTONE_TRUNKS_DIR, or the
        # checkout's trunks/ when the command runs from another directory.
        try:
            directory = load_settings().trunks_dir
        except ConfigError as exc:
            _fail(str(exc), as_json=as_json)
    try:
        return load_directory(directory, env=_environment())
    except SpecError as exc:
        _report_problems(exc.problems, as_json=as_json)
        if not as_json:
            n = len(errors(exc.problems))
            typer.secho(f"{n} error(s) in {directory}/", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def _check_offline(state: DesiredState) -> list[Problem]:
    personas, persona_error = _personas()
    return check_state(
        state, agent_names=KNOWN_AGENT_NAMES, personas=personas, persona_error=persona_error
    )


@app.command()
def validate(directory: DirOption = DEFAULT_DIR, as_json: JsonOption = False) -> None:
    """Check the files: schema, names, references, env vars, routing conflicts."""
    state = _load(directory, as_json=as_json)
    problems = _check_offline(state)
    _report_problems(problems, as_json=as_json)
    if errors(problems):
        if not as_json:
            typer.secho(
                f"{len(errors(problems))} error(s) in {directory}/", fg=typer.colors.RED, err=True
            )
        raise typer.Exit(1)
    if not as_json:
        _emit(
            f"{directory}/ is valid: {len(state.inbound)} inbound trunk(s), "
            f"{len(state.outbound)} outbound trunk(s), {len(state.rules)} dispatch rule(s)"
            + (f", {len(problems)} warning(s)" if problems else "")
        )


async def _plan(state: DesiredState, *, prune: bool, adopt: bool, mass: bool) -> Any:
    from ..trunkspec.live import connect, read_live
    from ..trunkspec.plan import compute_plan

    personas, persona_error = _personas()
    async with connect() as sip:
        live = await read_live(sip)
    return compute_plan(
        state,
        live,
        prune=prune,
        adopt=adopt,
        allow_mass_delete=mass,
        agent_names=KNOWN_AGENT_NAMES,
        personas=personas,
        persona_error=persona_error,
    )


def _plan_or_exit(directory: Path, *, prune: bool, adopt: bool, mass: bool, as_json: bool) -> Any:
    from ..trunkspec.apply import describe_error

    state = _load(directory, as_json=as_json)
    try:
        plan = asyncio.run(_plan(state, prune=prune, adopt=adopt, mass=mass))
    except SpecError as exc:
        _report_problems(exc.problems, as_json=as_json)
        raise typer.Exit(1) from None
    except ConfigError as exc:
        _fail(str(exc), as_json=as_json)
    except Exception as exc:  # the server or the network: say which, never a traceback
        _fail(f"cannot read the live configuration: {describe_error(exc)}", as_json=as_json)
    return state, plan


@app.command()
def plan(
    directory: DirOption = DEFAULT_DIR,
    prune: PruneOption = False,
    adopt: AdoptOption = False,
    allow_mass_delete: MassDeleteOption = False,
    as_json: JsonOption = False,
) -> None:
    """Show what apply would change. Exit 0: nothing; 2: changes pending; 1: error."""
    from ..trunkspec.plan import plan_json, render_text

    _state, result = _plan_or_exit(
        directory, prune=prune, adopt=adopt, mass=allow_mass_delete, as_json=as_json
    )
    if as_json:
        _emit(json.dumps({"ok": not result.refused, **plan_json(result)}, indent=2))
    else:
        _emit(render_text(result, target=load_settings().livekit_url))
    raise typer.Exit(1 if result.refused else 2 if result.has_changes else 0)


@app.command()
def apply(
    directory: DirOption = DEFAULT_DIR,
    prune: PruneOption = False,
    adopt: AdoptOption = False,
    allow_mass_delete: MassDeleteOption = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask; for CI.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Make LiveKit match the files: exactly the plan, one API call per change."""
    from ..trunkspec.apply import apply_plan, describe_error
    from ..trunkspec.live import connect
    from ..trunkspec.plan import plan_json, render_text

    state, result = _plan_or_exit(
        directory, prune=prune, adopt=adopt, mass=allow_mass_delete, as_json=as_json
    )
    if not as_json:
        _emit(render_text(result, target=load_settings().livekit_url))
    if result.refused:
        message = "; ".join(result.refused) + "; pass --allow-mass-delete if that is intended"
        if as_json:
            _emit(json.dumps({"ok": False, "error": message, "plan": plan_json(result)}, indent=2))
            raise typer.Exit(1)
        _fail(f"nothing applied: {message}")
    if not result.has_changes:
        if as_json:
            _emit(json.dumps({"ok": True, "plan": plan_json(result), "applied": []}, indent=2))
        raise typer.Exit(0)
    if not yes:
        if as_json or not sys.stdin.isatty():
            _fail("not a terminal: pass --yes to apply without asking", as_json=as_json)
        if not typer.confirm(f"Apply these {len(result.changes)} change(s)?", default=False):
            _emit("Nothing applied.")
            raise typer.Exit(1)

    async def run() -> Any:
        async with connect() as sip:
            return await apply_plan(result, state, sip)

    try:
        report = asyncio.run(run())
    except ConfigError as exc:
        _fail(str(exc), as_json=as_json)
    except Exception as exc:
        _fail(f"apply could not start: {describe_error(exc)}", as_json=as_json)
    if as_json:
        _emit(json.dumps({"plan": plan_json(result), **report.to_json()}, indent=2))
    else:
        _emit("")
        _emit(report.render(), err=not report.ok)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def export(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the YAML here instead of stdout.")
    ] = None,
    lk_json: Annotated[
        Path | None,
        typer.Option(
            "--lk-json", help="Also write `lk sip … create` JSON files to this directory."
        ),
    ] = None,
) -> None:
    """Write the live configuration as dialtone YAML (secrets as ${VAR} placeholders)."""
    from ..trunkspec.apply import describe_error
    from ..trunkspec.export import export_yaml, write_lk_json
    from ..trunkspec.live import connect, read_live

    async def run() -> Any:
        async with connect() as sip:
            return await read_live(sip)

    try:
        live = asyncio.run(run())
    except ConfigError as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"cannot read the live configuration: {describe_error(exc)}")
    result = export_yaml(live)
    if out is None:
        _emit(result.to_yaml())
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.to_yaml(), encoding="utf-8")
        _emit(f"wrote {out}", err=True)
    env_vars = list(result.env_vars)
    if lk_json is not None:
        files, lk_vars = write_lk_json(live, lk_json)
        env_vars += lk_vars
        _emit(f"wrote {len(files)} lk JSON file(s) to {lk_json}/", err=True)
    for note in result.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    if env_vars:
        _emit("secrets to set before apply: " + ", ".join(sorted(set(env_vars))), err=True)
