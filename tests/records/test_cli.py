"""`dialtone calls list | show` over the SQLite store under DIALTONE_DATA_DIR."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.__main__ import app
from dialtone.db.engine import new_engine, sqlite_url
from dialtone.db.upgrade import upgrade
from dialtone.records.models import CallOutcome, Direction, TranscriptLine
from dialtone.records.store import CallEnd, CallStart, RecordStore

from .conftest import T0


@pytest.fixture
def ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))
    engine = new_engine(sqlite_url(tmp_path / "data"))
    upgrade(engine)
    store = RecordStore(engine)
    made = []
    for i, (direction, outcome) in enumerate(
        [
            (Direction.INBOUND, CallOutcome.COMPLETED),
            (Direction.OUTBOUND, CallOutcome.BUSY),
            (Direction.INBOUND, CallOutcome.ABANDONED),
        ]
    ):
        at = T0 + timedelta(minutes=i)
        made.append(
            store.insert_closed(
                CallStart(direction, room=f"r{i}", caller_number="+15551230000"),
                CallEnd(
                    outcome=outcome,
                    ended_at=at + timedelta(seconds=20),
                    transcript=[TranscriptLine(at=1.5, speaker="caller", text=f"line {i}")],
                ),
                at,
            )
        )
    engine.dispose()
    return made


def test_list_filters_and_pages(ids: list[str]) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["calls", "list", "--direction", "inbound"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert [line.split()[0] for line in lines] == [ids[2], ids[0]]
    assert "abandoned" in lines[0] and "20s" in lines[0]
    first = runner.invoke(app, ["calls", "list", "--limit", "2"])
    more = first.output.splitlines()[-1]
    assert more.startswith("more: dialtone calls list --cursor ")
    rest = runner.invoke(app, ["calls", "list", "--limit", "2", "--cursor", more.split()[-1]])
    assert rest.output.split()[0] == ids[0]


def test_show_prints_the_transcript(ids: list[str]) -> None:
    out = CliRunner().invoke(app, ["calls", "show", ids[1]])
    assert out.exit_code == 0, out.output
    assert "outcome: busy" in out.output and "line 1" in out.output


def test_errors_name_what_to_fix(ids: list[str]) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["calls", "show", "nope"])
    assert missing.exit_code == 1 and "no call record 'nope'" in missing.output
    bad = runner.invoke(app, ["calls", "list", "--from", "last tuesday"])
    assert bad.exit_code == 1 and "--from" in bad.output
    cursor = runner.invoke(app, ["calls", "list", "--cursor", "zzz"])
    assert cursor.exit_code == 1 and "cursor" in cursor.output
