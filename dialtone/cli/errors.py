"""The last line of defence of the command line: a known failure is one line, not a trace.

Each command already turns the mistakes it expects into `error: ...` and exit 1. What
reaches here is a failure found deeper down — a database that refuses connections, a
setting that only fails when used — which would otherwise print a library's traceback
with the useful line last. The database URL is shown with its password masked.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from ..config import ConfigError, load_settings


def masked_url(url: str) -> str:
    """A database URL with its password masked; the raw text never reaches a terminal."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable)"


def database_reason(exc: DBAPIError) -> str:
    """The driver's first line about why the database refused, else the error's name."""
    detail = str(exc.orig).strip().splitlines() if exc.orig is not None else []
    return detail[0] if detail else type(exc).__name__


def _database_shown() -> str:
    """The configured database, password masked, for a message about it."""
    try:
        return masked_url(load_settings().resolved_database_url)
    except ConfigError:
        return "(the configured database)"


def explain(exc: BaseException) -> str | None:
    """One line for a failure a user can fix, or None for a bug (let it show)."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, DBAPIError):
        return (
            f"cannot use the database at {_database_shown()} "
            f"(DIALTONE_DATABASE_URL, else DIALTONE_DATA_DIR): {database_reason(exc)}"
        )
    if isinstance(exc, ArgumentError):
        return f"DIALTONE_DATABASE_URL is not a database URL: {exc}"
    return None
