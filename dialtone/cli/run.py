"""`dialtone run` (what `make run` runs): the worker when LiveKit is configured, else the
keyless demo.

The demo plays a simulated call to the receptionist (a caller asks the hours and leaves
a message), then serves the web console with that call's record, message and recording
in it, the same server as `dialtone serve`. A newcomer's first look at the product is
then the page a manager would open, not a JSON file. The server listens on 127.0.0.1
only. With no `DIALTONE_API_TOKEN` it signs in with a random token made for this run
(printed, like Jupyter's, and never written anywhere); a configured token or console
password is never printed. `--no-serve` stops after the call, for scripts and tests.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import SecretStr

from ..config import BESIDE_PACKAGE, ConfigError, Settings, load_settings
from .dev import run_dev
from .listen import ListenError, bound_port, listen, serve_on
from .serve import configure_logging, server_app

DEFAULT_SCENARIO = Path("tests/scenarios/receptionist_message.yaml")
HOST = "127.0.0.1"  # a one-off token is printed: never reachable from another machine


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _note(message: str) -> None:
    typer.secho(message, fg=typer.colors.CYAN, err=True)


def sign_in_hint(settings: Settings, one_off_token: str | None) -> str:
    """How to sign in to the console; names a configured secret without showing it."""
    if settings.console_password.get_secret_value():
        return "sign in with your DIALTONE_CONSOLE_PASSWORD"
    if one_off_token is None:
        return "sign in with your DIALTONE_API_TOKEN"
    return f"sign in with this run's token: {one_off_token}"


def with_one_off_token(settings: Settings) -> tuple[Settings, str | None]:
    """The settings the demo server runs with, and the token made for it (None: the
    operator set DIALTONE_API_TOKEN, which is used as it is)."""
    if settings.api_token.get_secret_value():
        return settings, None
    token = secrets.token_urlsafe(24)
    return settings.model_copy(update={"api_token": SecretStr(token)}), token


def run(
    scenario: Annotated[Path, typer.Option(help="Scenario for the keyless demo.")] = (
        DEFAULT_SCENARIO
    ),
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="After the demo call, serve the web console with it (--no-serve: exit, "
            "with status 1 if the call failed its checks).",
        ),
    ] = True,
    port: Annotated[
        int, typer.Option(help="The demo console's port on 127.0.0.1 (0: any free port).")
    ] = 8080,
) -> None:
    """The main job: the worker when LiveKit is configured, else a simulated call and
    the web console with that call in it."""
    try:
        settings = load_settings()
        profile = settings.resolved_profile
        if settings.livekit_url or settings.livekit_api_key:
            settings.require_livekit()  # half a LiveKit setup is a mistake, not a demo
    except ConfigError as exc:
        _fail(str(exc))
    if settings.has_livekit:
        run_dev("receptionist", [], reload=True)
        return
    if scenario == DEFAULT_SCENARIO and not scenario.exists():
        scenario = BESIDE_PACKAGE / DEFAULT_SCENARIO  # the checkout's
    try:
        sock = listen(HOST, port) if serve else None  # a taken port fails before the call
    except ListenError as exc:
        _fail(str(exc))
    _note(
        "LIVEKIT_URL is not set: playing a simulated call to the receptionist instead "
        f"({scenario}, profile {profile.value})."
    )
    passed = _play(scenario)
    if sock is None:
        _note(
            "The call is in the database: `dialtone calls list`, or in the web console "
            "(`dialtone run` without --no-serve, or `dialtone serve`)."
        )
        raise typer.Exit(0 if passed else 1)
    if not passed:
        _note("The simulated call failed its checks (above); the console shows the call.")
    served, token = with_one_off_token(settings)
    configure_logging(served.model_copy(update={"log_level": "WARNING"}))
    application = server_app(served, dial=False, sock=sock)
    url = f"http://{HOST}:{bound_port(sock)}/"
    hint = sign_in_hint(served, token)
    serve_on(
        application,
        sock,
        log_level="warning",
        on_started=lambda: typer.secho(
            f"Web console: {url}  {hint}  (Ctrl-C stops it)",
            fg=typer.colors.GREEN,
            bold=True,
        ),
    )
    raise typer.Exit(0 if passed else 1)


def _play(scenario: Path) -> bool:
    """Play the demo call, recorded as a persona with `recording.enabled` records."""
    from ..simulate.cli import run_simulation

    try:
        return run_simulation(scenario, as_json=False, out_dir=Path("out"), record_call=True)
    except ConfigError as exc:
        _fail(str(exc))
