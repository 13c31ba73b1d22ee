"""Secrets too weak to serve with are named in one line."""

from __future__ import annotations

import secrets

import pytest

from dialtone.config import load_settings
from dialtone.passwords import password_problem, token_problem


@pytest.mark.parametrize(
    "token", ["abc", "t" * 32, "abcdefgh" * 5, "console-token-0123456789abcdef"]
)
def test_weak_api_tokens_are_refused(token: str) -> None:
    assert token_problem(token) is not None


def test_random_tokens_pass() -> None:
    for _ in range(200):
        assert token_problem(secrets.token_urlsafe(24)) is None
        assert token_problem(secrets.token_hex(16)) is None


@pytest.mark.parametrize("password", ["a", "password", "Password123!", "qwertyuiop12", "x" * 20])
def test_weak_passwords_are_refused(password: str) -> None:
    assert password_problem(password) is not None


def test_settings_name_each_weak_secret() -> None:
    settings = load_settings(api_token="abc", console_password="a")
    problems = settings.weak_secret_problems()
    assert len(problems) == 2
    assert problems[0].startswith("DIALTONE_API_TOKEN is 3 characters")
    assert problems[1].startswith("DIALTONE_CONSOLE_PASSWORD is too short")
    assert "abc" not in problems[0].split("characters")[1]  # the secret is never echoed
    strong = load_settings(api_token=secrets.token_urlsafe(32), console_password="")
    assert strong.weak_secret_problems() == []
