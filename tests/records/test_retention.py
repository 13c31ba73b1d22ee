"""Retention: phone numbers and transcripts kept, masked or dropped on every write path."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dialtone.config import ConfigError, load_settings
from dialtone.db.tables import call_records
from dialtone.records.job import retention_of
from dialtone.records.models import CallOutcome, Direction, TranscriptLine
from dialtone.records.retention import Keep, Retention, mask_number, mask_text
from dialtone.records.store import CallEnd, CallStart, RecordStore

from .conftest import Clock

START = CallStart(
    Direction.INBOUND,
    room="room-r",
    sip_call_id="SCL_r",
    caller_number="+15551230042",
    called_number="+15550100100",
)
SAID = "my number is 555 123 0042, or five five five one two three, thanks"


def test_masking_hides_all_but_the_edges() -> None:
    assert mask_number("+15551230042") == "+1********42"
    assert mask_number("1001") == "****"
    assert mask_text(SAID) == "my number is ### ### ####, or ######, thanks"
    assert mask_text("one o'clock works") == "one o'clock works"  # not a digit run


def everything_in(engine: Engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(select(call_records)).all()
    return " ".join(str(v) for row in rows for v in row)


@pytest.mark.parametrize("keep", [Keep.MASK, Keep.DROP])
def test_no_write_path_stores_more_than_allowed(engine: Engine, clock: Clock, keep: Keep) -> None:
    store = RecordStore(engine, Retention(numbers=keep, transcripts=keep))
    record_id = store.open(START, clock(), timedelta(seconds=60))
    end = CallEnd(
        outcome=CallOutcome.COMPLETED,
        ended_at=clock.advance(30),
        transcript=[TranscriptLine(at=2.0, speaker="caller", text=SAID)],
    )
    store.close(record_id, end)
    store.insert_closed(START, end, clock())
    store.caller_left(
        CallStart(
            Direction.INBOUND, room="room-w", sip_call_id="SCL_w", caller_number="+15559870011"
        ),
        clock(),
        "participant left: client_initiated",
    )
    stored = everything_in(engine)
    for secret in ("5551230042", "123 0042", "5559870011", "5550100100"):
        assert secret not in stored
    record = store.get(record_id)
    assert record is not None
    if keep is Keep.MASK:
        assert record.caller_number == "+1********42"
        assert record.transcript is not None
        assert record.transcript[0].text == mask_text(SAID)
    else:
        assert record.caller_number is None and record.called_number is None
        assert record.transcript is None


def test_keep_stores_everything(store: RecordStore, clock: Clock) -> None:
    record_id = store.insert_closed(
        START,
        CallEnd(
            outcome=CallOutcome.COMPLETED,
            ended_at=clock(),
            transcript=[TranscriptLine(at=0.0, speaker="caller", text=SAID)],
        ),
        clock(),
    )
    record = store.get(record_id)
    assert record is not None and record.caller_number == "+15551230042"
    assert record.transcript is not None and record.transcript[0].text == SAID


def test_the_settings_choose_the_retention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIALTONE_RECORD_NUMBERS", "mask")
    monkeypatch.setenv("DIALTONE_RECORD_TRANSCRIPTS", "drop")
    assert retention_of(load_settings()) == Retention(Keep.MASK, Keep.DROP)
    monkeypatch.setenv("DIALTONE_RECORD_NUMBERS", "hide")
    with pytest.raises(ConfigError, match="DIALTONE_RECORD_NUMBERS"):
        load_settings()
