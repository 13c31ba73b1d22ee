"""`dialtone doctor`: check a real deployment and print the fix for each failure.

Exit 0 when no check failed (a SKIP says why a check did not run and does not fail the
run), 1 otherwise or when the options themselves are wrong. `--json` prints one JSON
document on stdout for CI.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from ..config import ConfigError, load_settings
from ..wire import normalize_phone
from .trunks import _environment


def _fail(message: str, *, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"ok": False, "error": message}, indent=2))
    else:
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def doctor(
    directory: Annotated[
        Path, typer.Option("--dir", help="Directory of trunk files to compare with LiveKit.")
    ] = Path("trunks"),
    call: Annotated[
        str | None,
        typer.Option("--call", help="Place a test call to this E.164 number (a real call)."),
    ] = None,
    trunk: Annotated[
        str | None,
        typer.Option("--trunk", help="Outbound trunk (name or ST_ id) for --call."),
    ] = None,
    ring: Annotated[
        float, typer.Option("--ring", min=5, max=120, help="Seconds --call lets it ring.")
    ] = 30.0,
    audio: Annotated[
        bool,
        typer.Option("--audio/--no-audio", help="With --call: play a tone, listen for a reply."),
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.5, max=60, help="Seconds per API request.")
    ] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for CI.")] = False,
) -> None:
    """Check LiveKit, SIP trunks, personas and provider keys; print the fix for each failure."""
    from ..doctor.call import CallOptions
    from ..doctor.render import render_text
    from ..doctor.runner import DoctorOptions, run_doctor

    if trunk is not None and call is None:
        _fail("--trunk only applies to a test call: add --call NUMBER", as_json=as_json)
    try:
        number = normalize_phone(call) if call is not None else None
    except ValueError as exc:
        _fail(f"--call: {exc}", as_json=as_json)
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc), as_json=as_json)
    if directory == Path("trunks"):
        directory = settings.trunks_dir  # DIALTONE_TRUNKS_DIR, or the project's trunks/
    options = DoctorOptions(
        trunks_dir=directory,
        timeout=timeout,
        call=CallOptions(number, trunk, ring_seconds=ring) if number is not None else None,
        audio=audio,
    )
    report = asyncio.run(run_doctor(settings, options, env=_environment()))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(render_text(report))
    raise typer.Exit(0 if report.ok else 1)
