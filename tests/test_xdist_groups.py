"""The tests that share a costly resource are handed out as one unit (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ONE_WORKER, work_unit


def test_docs_examples_share_one_worker() -> None:
    readme = "tests/docs/test_examples.py::test_bash_examples_run[README.md]"
    trunks = "tests/docs/test_examples.py::test_bash_examples_run[trunks.md]"
    assert work_unit(readme) == work_unit(trunks) == "docs"


def test_outage_calls_share_one_worker() -> None:
    first = "tests/outage/test_failover.py::test_llm_failing_mid_call"
    second = "tests/outage/test_failover.py::test_provider_failure_answers_every_turn[5xx-dns]"
    assert work_unit(first) == work_unit(second) == "outage"


def test_other_tests_go_one_by_one() -> None:
    for nodeid in (
        "tests/docs/test_examples.py::test_every_doc_file_is_checked",
        "tests/outage/test_cli_outage.py::test_simulate_cloud_profile_with_unreachable_providers_passes",
        "tests/test_wire.py::test_phone[+15550100]",
    ):
        assert work_unit(nodeid) == nodeid


def test_every_group_names_tests_that_exist() -> None:
    """A renamed file or test would silently stop being grouped."""
    root = Path(__file__).resolve().parents[1]
    for prefix in ONE_WORKER:
        path, _, name = prefix.partition("::")
        assert (root / path).is_file(), prefix
        if name:
            assert f"def {name}(" in (root / path).read_text(encoding="utf-8"), prefix
