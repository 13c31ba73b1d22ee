"""`dialtone serve` (and its alias `dialtone campaigns serve`): the HTTP server.

It runs the API and, when LiveKit is configured, the scheduler and dialer in the same
process. Several replicas may run against one PostgreSQL database: claims are
exclusive, so they share the work. Without LIVEKIT_URL the API still serves, but says
loudly that nothing will be dialled (`--no-dial` makes that explicit). Heavy imports
happen inside the command, so `dialtone --help` stays fast.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from sqlalchemy.exc import ArgumentError

from ..config import ConfigError, Settings, load_settings
from .listen import ListenError, bound_port, listen, serve_on

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..campaigns.scheduler import SchedulerConfig

logger = logging.getLogger("dialtone.campaigns")


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    dial: Annotated[
        bool, typer.Option("--dial/--no-dial", help="Run the scheduler and dialer here.")
    ] = True,
    max_concurrent: Annotated[
        int, typer.Option(help="Calls in progress at most, over every campaign.")
    ] = 20,
    calls_per_second: Annotated[
        float,
        typer.Option(
            "--cps",
            min=0.001,
            help="Calls per second per outbound trunk, never exceeded in any second "
            "(across replicas); about 83 % of it is sent on average (the pace's headroom).",
        ),
    ] = 1.0,
    pace_jitter: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=5.0,
            help="Seconds of delay variation between a send and LiveKit's or the trunk's "
            "clock (network, stalls, clock skew) that --cps must survive; more headroom "
            "costs average rate.",
        ),
    ] = 0.1,
    tick: Annotated[float, typer.Option(help="Seconds between scheduler ticks.")] = 1.0,
    lease_seconds: Annotated[
        float | None,
        typer.Option(
            "--lease",
            help="Seconds a replica's claim outlives its last heartbeat before another "
            "replica takes it over (default: 15, or 10 ticks if longer).",
        ),
    ] = None,
    call_timeout: Annotated[
        float, typer.Option(help="Seconds per LiveKit API call before retrying.")
    ] = 10.0,
) -> None:
    """Serve the web console at / and the HTTP API (`/v1`: campaigns, calls, messages,
    do-not-call; OpenAPI at /openapi.json; `/metrics`), dial due contacts and deliver
    the signed webhooks."""
    from ..campaigns.scheduler import SchedulerConfig

    try:
        settings = load_settings()
        if weak := settings.weak_secret_problems():
            raise ConfigError("; ".join(weak))
        configure_logging(settings)
        if not settings.api_token.get_secret_value():
            # Before anything is made (the data folder, the database): create_app checks
            # it too, for every other caller.
            raise ConfigError(
                "DIALTONE_API_TOKEN is not set: the campaign API refuses to start open"
            )
        if dial and not settings.has_livekit:
            logger.warning(
                "LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET not set: serving the API "
                "only; no contact will be called until a dialing process runs"
            )
            dial = False
        sock = listen(host, port)
    except ConfigError as exc:
        _fail(str(exc))
    except ListenError as exc:
        _fail(str(exc))
    application = server_app(
        settings,
        dial=dial,
        scheduler_config=SchedulerConfig(
            tick_seconds=tick,
            global_max_concurrent=max_concurrent,
            calls_per_second=calls_per_second,
            pace_jitter=pace_jitter,
            lease=None if lease_seconds is None else timedelta(seconds=lease_seconds),
        ),
        call_timeout=call_timeout,
        sock=sock,
    )
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound_port(sock)}/"
    serve_on(
        application,
        sock,
        log_level=settings.log_level,
        on_started=lambda: logger.info("serving the console and the API on %s", url),
    )


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request's full URL at INFO; here those are webhook URLs, which
    # often carry a credential in the path or query. Failures are logged by
    # dialtone.webhooks with the event id only.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def server_app(
    settings: Settings,
    *,
    dial: bool,
    scheduler_config: SchedulerConfig | None = None,
    call_timeout: float = 10.0,
    sock: socket.socket | None = None,
) -> FastAPI:
    """The API and the console over the settings' database, as `dialtone serve` runs
    them; a bad setting is one line and exit 1 (`sock` is closed first)."""
    from ..campaigns.dialer import DialerConfig
    from ..console_web import install_console
    from ..db.engine import make_engine
    from ..http.server import create_app

    try:
        engine = make_engine(settings.resolved_database_url)
        application = create_app(
            settings,
            engine,
            run_scheduler=dial,
            scheduler_config=scheduler_config,
            dialer_config=DialerConfig(call_timeout=call_timeout),
            run_webhooks=True,
        )
        install_console(application)
    except ArgumentError:
        if sock is not None:
            sock.close()
        _fail("DIALTONE_DATABASE_URL is not a database URL (e.g. postgresql+psycopg://host/db)")
    except (ConfigError, ValueError) as exc:
        if sock is not None:
            sock.close()
        _fail(str(exc))
    return application
