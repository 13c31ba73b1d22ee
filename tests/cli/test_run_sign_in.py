"""What `dialtone run` prints about signing in: a token it made up for this run, and
never a secret the operator configured."""

from __future__ import annotations

from dialtone.cli.run import sign_in_hint, with_one_off_token
from dialtone.config import load_settings

CONFIGURED = "configured-secret-" + "x" * 20


def test_without_a_token_each_run_makes_its_own_and_prints_it() -> None:
    settings = load_settings(api_token="")
    served, token = with_one_off_token(settings)
    _, other = with_one_off_token(settings)
    assert token is not None and other is not None and token != other and len(token) >= 32
    assert served.api_token.get_secret_value() == token
    assert token in sign_in_hint(served, token)
    assert not settings.api_token.get_secret_value()  # the operator's settings stay as they are


def test_a_configured_token_is_used_and_never_printed() -> None:
    served, token = with_one_off_token(load_settings(api_token=CONFIGURED))
    assert token is None and served.api_token.get_secret_value() == CONFIGURED
    hint = sign_in_hint(served, token)
    assert CONFIGURED not in hint and "DIALTONE_API_TOKEN" in hint


def test_a_console_password_is_what_the_hint_names() -> None:
    served, token = with_one_off_token(load_settings(api_token="", console_password=CONFIGURED))
    hint = sign_in_hint(served, token)
    assert CONFIGURED not in hint and token is not None and token not in hint
    assert "DIALTONE_CONSOLE_PASSWORD" in hint
