"""Shared fixtures."""

from tests.livekit_double.fixtures import livekit_double  # noqa: F401
from tests.postgres import postgres_server, postgres_url  # noqa: F401
