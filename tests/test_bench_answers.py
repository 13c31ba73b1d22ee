"""bench/amd.py and bench/ivr.py score what they play honestly: the figures the docs
quote come from these functions, so a scoring slip would publish a wrong figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.amd import Item, Result, SetError, load_set, report
from bench.ivr import Tree, summary


def _result(label: str, ours: str, decided: float, heard: float) -> Result:
    return Result(
        item=Item(label=label, say="words"),  # type: ignore[arg-type]
        ours=ours,
        ours_s=decided,
        heard_s=heard,
        by="phrases",
        baseline="human",
        baseline_s=5.0,
        heard="words",
    )


def test_the_amd_report_gives_both_times_and_the_misses() -> None:
    results = [
        _result("human", "human", 2.0, 2.0),
        _result("screening", "screening", 3.0, 2.0),  # a busy recogniser: a second late
        _result("ivr", "voicemail", 6.0, 5.0),
        _result("voicemail", "voicemail", 4.0, 3.0),
    ]
    text = report(results)
    assert text.splitlines()[-1] == "amd: accuracy 0.750"
    assert "median speech heard when decided: 2.50s" in text
    assert "median time to decide: 3.50s on this machine's clock" in text
    assert "ivr -> voicemail" in text.split("wrong:")[1]


def test_a_set_with_a_bad_item_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "set.yaml"
    bad.write_text("- {label: human, say: hello}\n- {label: robot, say: beep}\n")
    with pytest.raises(SetError, match=r"item 2: label"):
        load_set(bad)


def _tree(name: str, *, reachable: bool, passed: bool, reached_s: float | None) -> Tree:
    return Tree(
        name=name,
        reachable=reachable,
        passed=passed,
        outcome="completed" if reachable else "ivr_failed",
        detail="",
        keys="1",
        reached_s=reached_s,
        failures=(),
    )


def test_a_tree_counts_as_reached_only_when_it_passed_within_the_bound() -> None:
    trees = [
        _tree("quick", reachable=True, passed=True, reached_s=20.0),
        _tree("slow", reachable=True, passed=True, reached_s=75.0),
        _tree("wrong", reachable=True, passed=False, reached_s=20.0),
        _tree("loop", reachable=False, passed=True, reached_s=None),
    ]
    lines = summary(trees, within_s=60.0)
    assert "reached the target within 60 s: 1 of 3 trees" in lines
    assert "gave up (ivr_failed) where there is no way: 1 of 1" in lines
    assert lines[-1] == "ivr: reached 0.333"
