"""The conflict rules mirror livekit/protocol sip/sip.go; these pin the details."""

from __future__ import annotations

import pytest

from dialtone.trunkspec.checks import (
    RuleRouting,
    TrunkRouting,
    is_public_host,
    normalize_number,
    rule_conflicts,
    trunk_conflicts,
)
from dialtone.trunkspec.problems import Location

HERE = Location("a.yaml", 1, 1)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("1 (555) 000-1", "+15550001"),
        ("+1 555-0100", "+15550100"),
        ("15550100", "+15550100"),
        ("+15550100", "+15550100"),
        ("sip:alice", "sip:alice"),  # not number-like: compared as written
        ("", ""),
    ],
)
def test_normalize_number_like_the_server(raw: str, normalized: str) -> None:
    assert normalize_number(raw) == normalized


def test_a_live_trunk_written_differently_still_conflicts() -> None:
    ours = TrunkRouting("inbound trunk 'ours'", ("+15550100100",), (), HERE, "inbound_trunks[0]")
    live = TrunkRouting("live inbound trunk 'old' (ST_1)", ("1 (555) 010-0100",), ())
    problems = trunk_conflicts([live, ours])
    assert len(problems) == 1
    assert problems[0].location == HERE
    assert "live inbound trunk 'old' (ST_1) (live, not in the files)" in problems[0].message


def test_trunks_without_numbers_share_the_any_number_bucket() -> None:
    a = TrunkRouting("a", (), (), HERE, "x")
    b = TrunkRouting("b", (), (), HERE, "y")
    c = TrunkRouting("c", ("+15550100100",), (), HERE, "z")
    problems = trunk_conflicts([a, b, c])
    assert [p.path for p in problems] == ["y"]
    assert "any number" in problems[0].message


def test_two_live_objects_are_not_our_problem() -> None:
    a = TrunkRouting("a", (), ())
    b = TrunkRouting("b", (), ())
    assert trunk_conflicts([a, b]) == []


def test_rule_caller_numbers_are_part_of_the_key() -> None:
    a = RuleRouting("a", "", ("name:t",), ("+15550100100",), ("+15557770001",), HERE, "a")
    b = RuleRouting("b", "", ("name:t",), ("+15550100100",), ("+15557770002",), HERE, "b")
    c = RuleRouting("c", "", ("name:t",), ("+15550100100",), ("1 555 777 0002",), HERE, "c")
    problems = rule_conflicts([a, b, c])
    assert [p.path for p in problems] == ["c"]


@pytest.mark.parametrize(
    ("host", "public"),
    [
        ("sip.carrier.example", True),
        ("8.8.8.8:5060", True),
        ("10.0.0.1", False),
        ("192.168.1.10:5060", False),
        ("pbx.internal", False),
        ("localhost", False),
        ("[2001:db8::1]:5061", False),
    ],
)
def test_public_host(host: str, public: bool) -> None:
    assert is_public_host(host) is public
