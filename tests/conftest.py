"""Shared fixtures."""

from tests.livekit_double.fixtures import livekit_double  # noqa: F401
