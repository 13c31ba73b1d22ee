"""Shared fixtures, and how `make test` spreads the tests over pytest-xdist workers.

The simulated calls (marked `audio`) play in real time, so they are the long tests and
mostly wait: `make test` runs more workers than cores. Each test goes to whichever
worker is free, except the tests in `ONE_WORKER`, which share something costly to build
and run on one worker, in file order. Workers collect the audio tests first, so the
long calls start early instead of one being left for last. Tests marked `serial` are
left out of that pass and run after it, alone (see the Makefile). A plain `pytest` run
(no `-n`) keeps the file order and none of this applies.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.livekit_double.fixtures import livekit_double  # noqa: F401
from tests.postgres import postgres_server, postgres_url  # noqa: F401

#: Node-id prefixes whose tests run together on one worker, and why.
ONE_WORKER = {
    # one `dialtone serve` (a module fixture) answers every docs file's examples
    "tests/docs/test_examples.py::test_bash_examples_run": "docs",
    # every outage call is held against one baseline call (a session fixture) measured
    # on the same worker
    "tests/outage/test_failover.py::": "outage",
    # calls on the whole offline stack (espeak caller, pocketsphinx, espeak agent) that
    # check dead air: each group plays one call at a time, so at most two of these run
    # at once (with four, a 2-core machine starves them into silences no caller would
    # hear in production); the shipped scenarios are one group, their closer checks
    # the other, each about half the parallel pass's length
    "tests/simulate/test_shipped_scenarios.py::test_passes_under_the_cli": "offline-stack",
    "tests/simulate/test_cli.py::": "offline-stack-checked",
    "tests/simulate/test_transfer_scenarios.py::": "offline-stack-checked",
}


def work_unit(nodeid: str) -> str:
    """The unit the scheduler hands out: a test on its own, or its `ONE_WORKER` group."""
    for prefix, group in ONE_WORKER.items():
        if nodeid.startswith(prefix):
            return group
    return nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    # xdist's own `--dist loadgroup` marks stopped grouping with pytest 9.2 (its node-id
    # suffix no longer takes: pytest-dev/pytest-xdist#1386), so the groups are made here.
    if config.getoption("dist") != "load":
        return None  # an explicit --dist other than the default: xdist's own scheduler
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class OneWorkerGroups(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return OneWorkerGroups(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    # A stable sort: the audio tests move ahead, each keeping its place among them.
    items.sort(key=lambda item: item.get_closest_marker("audio") is None)


@pytest.fixture(autouse=True)
def _own_project_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test's settings come from a project folder of its own (no `.env`, its own
    `data/`): a developer's `.env` in the checkout, which commands run from any directory
    now find, never reaches a test. Personas, trunks and agents still come from the
    checkout (the fallback beside the package). Tests of the folder rules unset it."""
    monkeypatch.setenv("DIALTONE_PROJECT_DIR", str(tmp_path_factory.mktemp("project")))
