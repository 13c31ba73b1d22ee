"""Shared fixtures, and the order tests are handed to parallel workers.

`make test` runs the suite on several pytest-xdist workers (`--dist loadgroup`). The
simulated calls (marked `audio`) play in real time, so they are the long tests: a worker
collects them first, and the scheduler hands them out before the quick ones instead of
leaving one for last on a single worker. A plain `pytest` run keeps the file order.
Tests that share something costly to build (the docs server, the outage baseline call)
carry an `xdist_group` mark so one worker runs them all, in file order.
"""

from __future__ import annotations

import os

import pytest

from tests.livekit_double.fixtures import livekit_double  # noqa: F401
from tests.postgres import postgres_server, postgres_url  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    # A stable sort: the audio tests move ahead, each group keeps its own order.
    items.sort(key=lambda item: item.get_closest_marker("audio") is None)
