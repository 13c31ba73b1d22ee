"""`dialtone db upgrade` (and its alias `dialtone campaigns migrate`), `db import-messages`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from dialtone.__main__ import app
from dialtone.db.engine import new_engine
from dialtone.db.upgrade import head_revision
from tests.db.conftest import load_sqlite


@pytest.mark.parametrize("command", [["db", "upgrade"], ["campaigns", "migrate"]])
def test_upgrade_creates_then_finds_nothing_to_do(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALTONE_DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    assert f"schema upgraded from empty to {head_revision()}" in first.output
    second = CliRunner().invoke(app, command)
    assert second.exit_code == 0 and "nothing to do" in second.output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+nodriver://u:hunter2@db/x", "is not a database URL"),
        ("sqlite:////no/such/directory/d.db", "cannot open the database at sqlite:////no/such"),
        ("mysql://u:hunter2@db/x", "DIALTONE_DATABASE_URL"),
    ],
)
def test_a_bad_url_is_one_line_and_a_nonzero_exit(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALTONE_DATABASE_URL", url)
    out = CliRunner().invoke(app, ["db", "upgrade"])
    assert out.exit_code == 1
    assert expected in out.output and "Traceback" not in out.output
    assert "hunter2" not in out.output
    assert len(out.output.strip().splitlines()) <= 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_import_messages_brings_a_workers_old_file_over_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "worker-data" / "dialtone.db"
    old.parent.mkdir()
    load_sqlite("release_messages_only_sqlite.sql", old)
    with new_engine(f"sqlite:///{old}").connect() as conn:
        before = conn.execute(text("SELECT id, message FROM messages ORDER BY id")).all()
    assert before  # the release fixture holds messages
    target = (
        request.getfixturevalue("postgres_url")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 'shared.db'}"
    )
    monkeypatch.setenv("DIALTONE_DATABASE_URL", target)

    first = CliRunner().invoke(app, ["db", "import-messages", str(old)])
    assert first.exit_code == 0, first.output
    assert f"copied {len(before)} message(s)" in first.output
    again = CliRunner().invoke(app, ["db", "import-messages", str(old)])
    assert "copied 0 message(s)" in again.output
    assert f"{len(before)} were already there" in again.output
    with new_engine(target).connect() as conn:
        after = conn.execute(text("SELECT id, message FROM messages ORDER BY id")).all()
    assert after == before


def test_import_messages_from_a_missing_or_foreign_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the target database lives in this test's folder, never in the checkout's data/
    monkeypatch.setenv("DIALTONE_DATABASE_URL", f"sqlite:///{tmp_path / 'target.db'}")
    missing = CliRunner().invoke(app, ["db", "import-messages", str(tmp_path / "nope.db")])
    assert missing.exit_code == 1 and "no such file" in missing.output
    foreign = tmp_path / "notes.db"
    foreign.write_text("not a database")
    out = CliRunner().invoke(app, ["db", "import-messages", str(foreign)])
    assert out.exit_code == 1 and "cannot copy the messages" in out.output
    assert "Traceback" not in out.output
