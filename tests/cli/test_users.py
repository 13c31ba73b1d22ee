"""`dialtone users add|list|remove|reset` against the configured database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.__main__ import app
from dialtone.accounts.audit import AuditLog
from dialtone.accounts.users import UserStore
from dialtone.db.engine import new_engine

GOOD = "plum-orchard-Seven-42"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIALTONE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()  # made already: no "made the data folder" line in the output
    return tmp_path / "data"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["users", *args], input=stdin)
    return result.exit_code, result.output


def test_add_list_reset_remove(data: Path) -> None:
    assert run("list") == (0, run("list")[1])
    assert "no users yet" in run("list")[1]
    code, out = run("add", "Dana", "--role", "manager", "--password-stdin", stdin=GOOD + "\n")
    assert (code, out.strip()) == (0, "added dana (manager)")
    code, out = run("add", "lee", "--password-stdin", stdin="harbour-lights-Nine-17\n")
    assert code == 0 and "lee (staff)" in out
    listed = run("list")[1]
    assert "dana" in listed and "manager" in listed and "lee" in listed and GOOD not in listed

    code, out = run(
        "reset", "dana", "--role", "staff", "--password-stdin", stdin="new-Phrase-for-her-55\n"
    )
    assert code == 0 and "sessions have ended" in out
    code, out = run("remove", "lee")
    assert code == 0

    engine = new_engine(f"sqlite:///{data / 'dialtone.db'}")
    try:
        users = UserStore(engine)
        assert [u.name for u in users.list()] == ["dana"]
        assert users.verify("dana", "new-Phrase-for-her-55") is not None
        actions = [e.action for e in AuditLog(engine).recent()]
        assert actions == ["user.remove", "user.reset", "user.add", "user.add"]
        assert all(e.actor.startswith("cli") for e in AuditLog(engine).recent())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (("add", "dana", "--password-stdin"), "password1234\n", "the password is on the list"),
        (("add", "dana", "--password-stdin"), "short\n", "the password is too short"),
        (("add", "bad name", "--password-stdin"), GOOD + "\n", "user name 'bad name'"),
        (("add", "dana", "--role", "boss", "--password-stdin"), GOOD + "\n", "boss"),
        (("remove", "nobody"), None, "no user named 'nobody'"),
        (("reset", "nobody", "--password-stdin"), GOOD + "\n", "no user named 'nobody'"),
    ],
)
def test_mistakes_are_one_line(
    data: Path, args: tuple[str, ...], stdin: str | None, says: str
) -> None:
    code, out = run(*args, stdin=stdin)
    assert code != 0 and says in out and "Traceback" not in out, out


def test_a_mistyped_confirmation_changes_nothing(data: Path) -> None:
    code, out = run("add", "dana", stdin=f"{GOOD}\n{GOOD}x\n")
    assert code == 1 and "differ" in out
    assert "no users yet" in run("list")[1]
