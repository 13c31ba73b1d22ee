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


def _database_shown() -> str:
    """The configured database, password masked, for a message about it."""
    try:
        url = load_settings().resolved_database_url
        return make_url(url).render_as_string(hide_password=True)
    except (ConfigError, ArgumentError):
        return "(the configured database)"


def explain(exc: BaseException) -> str | None:
    """One line for a failure a user can fix, or None for a bug (let it show)."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, DBAPIError):
        detail = str(exc.orig).strip().splitlines() if exc.orig is not None else []
        reason = detail[0] if detail else type(exc).__name__
        return (
            f"cannot use the database at {_database_shown()} "
            f"(DIALTONE_DATABASE_URL, else DIALTONE_DATA_DIR): {reason}"
        )
    if isinstance(exc, ArgumentError):
        return f"DIALTONE_DATABASE_URL is not a database URL: {exc}"
    return None
