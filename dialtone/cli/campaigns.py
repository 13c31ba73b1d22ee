"""`dialtone campaigns serve | migrate`: the earlier names of `dialtone serve` and
`dialtone db upgrade`, kept so existing deployments' commands still work."""

from __future__ import annotations

import typer

from .db import run_upgrade
from .serve import serve

app = typer.Typer(
    help="Outbound reminder campaigns: HTTP API, scheduler and dialer.",
    no_args_is_help=True,
)

app.command("serve")(serve)  # the same command as `dialtone serve`


@app.command()
def migrate() -> None:
    """Bring the database to the current schema: the same as `dialtone db upgrade`."""
    run_upgrade()
