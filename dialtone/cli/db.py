"""`dialtone db upgrade`: bring the database to this release's schema.

`dialtone serve` and the worker upgrade on their own; this command is for
deployments that upgrade once, before rolling out replicas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import ArgumentError, DBAPIError

from ..config import ConfigError, load_settings
from ..db.engine import new_engine
from ..db.upgrade import SchemaTooNew, upgrade
from .errors import database_reason, masked_url

app = typer.Typer(help="The database every dialtone process shares.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def run_upgrade() -> None:
    """The `db upgrade` command's body (also `dialtone campaigns migrate`)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc))
    url = settings.resolved_database_url
    try:
        engine = new_engine(url)
    except ArgumentError:
        _fail(
            f"DIALTONE_DATABASE_URL {masked_url(url)} is not a database URL; expected e.g. "
            "postgresql+psycopg://user:password@host/dialtone or sqlite:////path/dialtone.db"
        )
    try:
        done = upgrade(engine)
    except SchemaTooNew as exc:
        _fail(str(exc))
    except DBAPIError as exc:
        reason = database_reason(exc)
        _fail(f"cannot open the database at {masked_url(url)} (DIALTONE_DATABASE_URL): {reason}")
    finally:
        engine.dispose()
    if done.adopted:
        typer.echo(f"adopted the existing database at {masked_url(url)}; schema at {done.head}")
    elif done.before == done.head:
        typer.echo(f"schema already at {done.head}: nothing to do")
    else:
        typer.echo(f"schema upgraded from {done.before or 'empty'} to {done.head}")


@app.command("upgrade")
def upgrade_command() -> None:
    """Create or migrate every table (idempotent; safe while replicas start)."""
    run_upgrade()


@app.command("import-messages")
def import_messages(
    source: Annotated[
        Path, typer.Argument(help="A worker's old SQLite file, e.g. data/dialtone.db.")
    ],
) -> None:
    """Copy the messages of an old per-worker SQLite file into the configured database."""
    from ..messages.store import copy_messages

    if not source.is_file():
        _fail(f"{source}: no such file (give the worker's DIALTONE_DATA_DIR/dialtone.db)")
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc))
    target = new_engine(settings.resolved_database_url)
    origin = new_engine(f"sqlite:///{source.resolve()}")
    try:
        copied, skipped = copy_messages(origin, target)
    except DBAPIError as exc:
        reason = database_reason(exc)
        _fail(f"cannot copy the messages of {source}: {reason}")
    finally:
        origin.dispose()
        target.dispose()
    shown = masked_url(settings.resolved_database_url)
    typer.echo(f"copied {copied} message(s) to {shown}; {skipped} were already there")
