"""`dialtone db upgrade` (and its alias `dialtone campaigns migrate`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.__main__ import app
from dialtone.db.upgrade import head_revision


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
