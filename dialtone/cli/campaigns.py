"""`dialtone campaigns serve | migrate`; `serve` is `dialtone serve` (dialtone/cli/serve.py)."""

from __future__ import annotations

from typing import NoReturn

import typer

from ..config import ConfigError, load_settings
from .serve import serve

app = typer.Typer(
    help="Outbound reminder campaigns: HTTP API, scheduler and dialer.",
    no_args_is_help=True,
)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


app.command("serve")(serve)  # the same command as `dialtone serve`


@app.command()
def migrate() -> None:
    """Bring the campaign database to the current schema (serve also does this)."""
    from ..campaigns.migrations import LATEST
    from ..campaigns.migrations import migrate as run_migrations
    from ..campaigns.store import campaign_engine

    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc))
    engine = campaign_engine(settings.resolved_database_url)
    applied = run_migrations(engine)
    engine.dispose()
    done = ", ".join(map(str, applied)) if applied else "none"
    typer.echo(f"campaign schema at version {LATEST} (applied now: {done})")
