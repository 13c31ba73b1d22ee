"""`dialtone serve` (and its alias `dialtone campaigns serve`): the HTTP server.

It runs the API and, when LiveKit is configured, the scheduler and dialer in the same
process. Several replicas may run against one PostgreSQL database: claims are
exclusive, so they share the work. Without LIVEKIT_URL the API still serves, but says
loudly that nothing will be dialled (`--no-dial` makes that explicit). Heavy imports
happen inside the command, so `dialtone --help` stays fast.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import ArgumentError

from ..config import ConfigError, load_settings

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
        float, typer.Option("--cps", help="Dispatches per second per outbound trunk.")
    ] = 1.0,
    tick: Annotated[float, typer.Option(help="Seconds between scheduler ticks.")] = 1.0,
    lease_seconds: Annotated[
        float | None,
        typer.Option(
            "--lease", help="Seconds before an unsettled dispatch is reconciled (default: derived)."
        ),
    ] = None,
    call_timeout: Annotated[
        float, typer.Option(help="Seconds per LiveKit API call before retrying.")
    ] = 10.0,
) -> None:
    """Serve the web console at / and the HTTP API (`/v1`: campaigns, calls, messages,
    do-not-call; OpenAPI at /openapi.json; `/metrics`), dial due contacts and deliver
    the signed webhooks."""
    import uvicorn

    from ..campaigns.dialer import DialerConfig
    from ..campaigns.scheduler import SchedulerConfig
    from ..console_web import install_console
    from ..db.engine import make_engine
    from ..http.server import create_app

    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # httpx logs every request's full URL at INFO; here those are webhook URLs, which
        # often carry a credential in the path or query. Failures are logged by
        # dialtone.webhooks with the event id only.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        if dial and not settings.has_livekit:
            logger.warning(
                "LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET not set: serving the API "
                "only; no contact will be called until a dialing process runs"
            )
            dial = False
        scheduler_config = SchedulerConfig(
            tick_seconds=tick,
            global_max_concurrent=max_concurrent,
            calls_per_second=calls_per_second,
            lease=None if lease_seconds is None else timedelta(seconds=lease_seconds),
        )
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
        _fail("DIALTONE_DATABASE_URL is not a database URL (e.g. postgresql+psycopg://host/db)")
    except (ConfigError, ValueError) as exc:
        _fail(str(exc))
    uvicorn.run(application, host=host, port=port, log_level=settings.log_level.lower())
