"""`dialtone users add|list|remove|reset`: the people who may sign in to the console.

Two roles: `staff` read messages and calls and mark messages handled; `manager` also
runs campaigns, the do-not-call list and reads the audit log. A password is asked for
twice without echo (or read from standard input with `--password-stdin`, for scripts)
and refused when short, common or containing the name. `reset` sets a new password
(and, with `--role`, a new role) and ends every session the user has open; `remove`
does too. Each change is in the console's audit log, by `cli:<login name>`.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, NoReturn

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError

from ..accounts.roles import Role
from ..accounts.users import UserError, UserStore
from ..config import ConfigError, load_settings
from ..db.engine import new_engine
from ..db.upgrade import SchemaTooNew, upgrade
from .errors import database_reason, masked_url

app = typer.Typer(help="People who may sign in to the web console.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Sign-in name: letters, digits, . _ @ -")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _engine() -> Engine:
    try:
        url = load_settings().resolved_database_url
    except ConfigError as exc:
        _fail(str(exc))
    try:
        engine = new_engine(url)
        upgrade(engine)
    except ArgumentError:
        _fail(f"DIALTONE_DATABASE_URL {masked_url(url)} is not a database URL")
    except SchemaTooNew as exc:
        _fail(str(exc))
    except DBAPIError as exc:
        _fail(f"cannot open the database at {masked_url(url)}: {database_reason(exc)}")
    return engine


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    again = typer.prompt("Again", hide_input=True)
    if first != again:
        _fail("the two passwords differ; nothing was changed")
    return str(first)


@app.command("add")
def add(
    name: NameArg,
    role: Annotated[Role, typer.Option(help="staff or manager.")] = Role.STAFF,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user who signs in with their own password."""
    engine = _engine()
    try:
        user = UserStore(engine).add(name, role, _password(password_stdin), actor=_actor())
    except UserError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"added {user.name} ({user.role.value})")


@app.command("list")
def list_users() -> None:
    """Every user, with role and when the password last changed."""
    engine = _engine()
    try:
        users = UserStore(engine).list()
    finally:
        engine.dispose()
    if not users:
        typer.echo("no users yet: sign in with the API token, or add one with `dialtone users add`")
        return
    typer.echo(f"{'name':<24} {'role':<8} password set")
    for user in users:
        typer.echo(f"{user.name:<24} {user.role.value:<8} {user.updated_at:%Y-%m-%d %H:%M} UTC")


@app.command("remove")
def remove(name: NameArg) -> None:
    """Remove a user; their open sessions end at once."""
    engine = _engine()
    try:
        UserStore(engine).remove(name, actor=_actor())
    except UserError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"removed {name.strip().lower()}; their sessions have ended")


@app.command("reset")
def reset(
    name: NameArg,
    role: Annotated[Role | None, typer.Option(help="Also change the role.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (and role); the user's open sessions end at once."""
    engine = _engine()
    try:
        UserStore(engine).reset(name, _password(password_stdin), actor=_actor(), role=role)
    except UserError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"reset {name.strip().lower()}; their sessions have ended")
