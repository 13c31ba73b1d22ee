"""`dialtone serve` and its alias `dialtone campaigns serve`: one command, two names."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.__main__ import app

OPTIONS = ("--host", "--port", "--dial", "--no-dial", "--max-concurrent", "--cps", "--tick")


@pytest.mark.parametrize("command", [["serve"], ["campaigns", "serve"]])
def test_serve_help_lists_the_server_options(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    for option in (*OPTIONS, "--lease", "--call-timeout"):
        assert option in result.output, option
    assert "messages" in result.output


@pytest.mark.parametrize("command", [["serve"], ["campaigns", "serve"]])
def test_serve_without_a_token_says_so_in_one_line(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("DIALTONE_API_TOKEN", raising=False)
    monkeypatch.delenv("DIALTONE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, [*command, "--no-dial"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: DIALTONE_API_TOKEN is not set: the campaign API refuses to start open"
    ]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DIALTONE_API_TOKEN", "abc", "DIALTONE_API_TOKEN is 3 characters"),
        ("DIALTONE_API_TOKEN", "t" * 40, "DIALTONE_API_TOKEN is not random enough"),
        ("DIALTONE_CONSOLE_PASSWORD", "a", "DIALTONE_CONSOLE_PASSWORD is too short"),
        ("DIALTONE_CONSOLE_PASSWORD", "password1234", "DIALTONE_CONSOLE_PASSWORD is on the list"),
    ],
)
def test_serve_refuses_weak_secrets_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIALTONE_API_TOKEN", "a-strong-token-Hq7vN2xK9mR4tW8pZ3bL")
    monkeypatch.delenv("DIALTONE_CONSOLE_PASSWORD", raising=False)
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, ["serve", "--no-dial", "--port", "0"])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"error: {says}")
    assert len(value) < 4 or value not in line  # the secret is never echoed
