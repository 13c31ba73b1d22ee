"""Placeholder: replaced by the trunks CLI."""

import typer

app = typer.Typer(help="Declarative SIP trunks and dispatch rules.", no_args_is_help=True)
