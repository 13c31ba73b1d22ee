"""The console's number filter: a whole number typed any way, or its last digits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dialtone.console_web.callquery import BadNumber, CallQuery, find_calls, number_match
from dialtone.db.engine import new_engine, sqlite_url
from dialtone.db.tables import call_records
from dialtone.db.upgrade import upgrade
from dialtone.records.models import CallOutcome, Direction
from dialtone.records.retention import Keep, Retention
from dialtone.records.store import CallEnd, CallStart, RecordStore

T0 = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
LINE = "+15550100100"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        sqlite_url(tmp_path / "data")
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    eng = new_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


def call(store: RecordStore, minute: int, caller: str, called: str = LINE) -> str:
    started = T0 + timedelta(minutes=minute)
    end = CallEnd(outcome=CallOutcome.COMPLETED, ended_at=started + timedelta(seconds=30))
    return store.insert_closed(
        CallStart(Direction.INBOUND, caller_number=caller, called_number=called), end, started
    )


def numbers(engine: Engine, typed: str, **kw: int) -> list[str | None]:
    rows, _ = find_calls(engine, CallQuery(number=typed), **kw)
    return [r.caller_number for r in rows]


def test_a_whole_number_typed_any_way_matches_exactly(engine: Engine) -> None:
    store = RecordStore(engine)
    call(store, 1, "+15550100142")
    call(store, 2, "+445550100142")  # same last digits, another number
    call(store, 3, "+15550100999")
    for typed in (
        "+15550100142",
        "+1 (555) 010-0142",
        " +1.555.010.0142 ",
        "＋１５５５０１００１４２",
    ):
        assert numbers(engine, typed) == ["+15550100142"], typed


def test_last_digits_match_every_number_ending_so_newest_first(engine: Engine) -> None:
    store = RecordStore(engine)
    call(store, 1, "+15550100142")
    call(store, 2, "+445550100142")
    call(store, 3, "+15550100999")
    assert numbers(engine, "0142") == ["+445550100142", "+15550100142"]
    assert numbers(engine, "555 010-0142") == ["+445550100142", "+15550100142"]
    assert numbers(engine, "999") == ["+15550100999"]
    assert numbers(engine, "1234") == []


def test_either_party_matches_and_a_call_matching_both_comes_once(engine: Engine) -> None:
    store = RecordStore(engine)
    out = call(store, 1, LINE, called="+15550100142")  # outbound: the person is called
    both = call(store, 2, "+15550100100", called=LINE)
    rows, _ = find_calls(engine, CallQuery(number="0142"))
    assert [r.id for r in rows] == [out]
    rows, _ = find_calls(engine, CallQuery(number=LINE))
    assert [r.id for r in rows] == [both, out]


def test_pages_of_a_number_are_keyset_pages(engine: Engine) -> None:
    store = RecordStore(engine)
    ids = [call(store, i, "+15550100142") for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        rows, cursor = find_calls(engine, CallQuery(number="0142"), limit=2, cursor=cursor)
        seen += [r.id for r in rows]
        if cursor is None:
            break
    assert seen == ids[::-1]


def test_a_masked_or_dropped_number_is_not_kept_reversed_either(engine: Engine) -> None:
    call(RecordStore(engine, Retention(numbers=Keep.MASK)), 1, "+15550100142")
    call(RecordStore(engine, Retention(numbers=Keep.DROP)), 2, "+15550100143")
    with engine.connect() as conn:
        rows = conn.execute(select(call_records)).all()
    stored = " ".join(str(v) for row in rows for v in row)
    assert "24100105551" not in stored and "34100105551" not in stored
    assert "24********1+" in stored  # the masked form, reversed


@pytest.mark.parametrize("typed", ["12", "abc", "call 0142", "+"])
def test_too_little_to_look_up_says_what_to_type(typed: str) -> None:
    with pytest.raises(BadNumber, match=r"whole number .* last 3 digits"):
        number_match(typed)


def test_digits_most_calls_end_in_give_the_same_page_read_newest_first(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RecordStore(engine)
    ids = [call(store, i, f"+1555010{i:04d}") for i in range(6)]
    expected = [r.id for r in find_calls(engine, CallQuery(number="100"), limit=3)[0]]
    monkeypatch.setattr("dialtone.console_web.callquery.DENSE", 2)  # every side is dense
    rows, cursor = find_calls(engine, CallQuery(number="100"), limit=3)
    assert [r.id for r in rows] == expected == ids[::-1][:3]
    rows, _ = find_calls(engine, CallQuery(number="100"), limit=3, cursor=cursor)
    assert [r.id for r in rows] == ids[::-1][3:]


def test_transfers_that_did_not_reach_a_person_newest_first(engine: Engine) -> None:
    store = RecordStore(engine)
    made = {}
    for minute, transfer in enumerate(["completed", "no_answer", None, "busy", "completed"]):
        started = T0 + timedelta(minutes=minute)
        end = CallEnd(
            outcome=CallOutcome.TRANSFERRED if transfer else CallOutcome.COMPLETED,
            ended_at=started + timedelta(seconds=30),
            transfer_outcome=transfer,
        )
        made[minute] = store.insert_closed(
            CallStart(Direction.INBOUND, caller_number=f"+1555020000{minute}", called_number=LINE),
            end,
            started,
        )
    rows, _ = find_calls(engine, CallQuery(transfer="failed"))
    assert [(r.id, r.transfer_outcome) for r in rows] == [(made[3], "busy"), (made[1], "no_answer")]
    both, _ = find_calls(engine, CallQuery(transfer="failed", number="0003"))
    assert [r.id for r in both] == [made[3]]
