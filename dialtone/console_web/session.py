"""Who is signed in to the console: a signed, expiring session cookie and CSRF tokens.

The JSON API keeps its bearer tokens; a browser cannot hold one safely, so the console
trades the API token (or DIALTONE_CONSOLE_PASSWORD, when set) for a cookie that is
HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and
Secure when the request came over TLS. The cookie is stateless: `issued.nonce.mac`,
HMAC-signed with a key derived from the sign-in secret, so every replica accepts it and
changing the secret signs everyone out. Every form and htmx request carries a CSRF token
derived from the session, checked on every POST; the sign-in form uses a double-submit
cookie, since there is no session yet.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from ..config import Settings
from ..http.services import Services

SESSION_COOKIE = "dialtone_console"
LOGIN_COOKIE = "dialtone_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 12 * 3600


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in page, htmx gets told to."""


class CsrfRefused(Exception):
    """A POST without this session's CSRF token."""


@dataclass(frozen=True)
class ConsoleSession:
    nonce: str
    csrf: str


def sign_in_secret(settings: Settings) -> str:
    """The console password when set, else the API token (create_app requires one)."""
    return settings.console_password.get_secret_value() or settings.api_token.get_secret_value()


def _key(settings: Settings) -> bytes:
    return hmac.new(
        b"dialtone console session", sign_in_secret(settings).encode(), "sha256"
    ).digest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def password_matches(settings: Settings, given: str) -> bool:
    expected = sign_in_secret(settings).encode()
    return bool(expected) and hmac.compare_digest(given.encode(), expected)


def new_session_cookie(settings: Settings, *, now: float | None = None) -> str:
    issued = str(int(time.time() if now is None else now))
    body = f"{issued}.{secrets.token_urlsafe(18)}"
    return f"{body}.{_mac(_key(settings), body)}"


def read_session(
    settings: Settings, cookie: str | None, *, now: float | None = None
) -> ConsoleSession | None:
    """The session this cookie proves, or None if it is missing, forged or expired."""
    if not cookie or cookie.count(".") != 2:
        return None
    issued, nonce, mac = cookie.split(".")
    key = _key(settings)
    if not hmac.compare_digest(mac, _mac(key, f"{issued}.{nonce}")):
        return None
    current = time.time() if now is None else now
    if not issued.isdigit() or not 0 <= current - int(issued) < SESSION_SECONDS:
        return None
    return ConsoleSession(nonce=nonce, csrf=_mac(key, f"csrf.{nonce}")[:40])


def is_tls(request: Request, settings: Settings) -> bool:
    """Over TLS: the request's own scheme, or a trusted proxy's X-Forwarded-Proto."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return settings.trust_forwarded_proto and forwarded == "https"


def set_cookie(
    response: Response, request: Request, settings: Settings, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=is_tls(request, settings),
        samesite="strict",
    )


def current_session(request: Request, services: Services) -> ConsoleSession:
    session = read_session(services.settings, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInRequired()
    return session


Session = Annotated[ConsoleSession, Depends(current_session)]


async def checked_session(request: Request, services: Services) -> ConsoleSession:
    """A signed-in session whose POST carries its CSRF token (form field or header)."""
    session = current_session(request, services)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else ""
    if not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise CsrfRefused()
    return session


Checked = Annotated[ConsoleSession, Depends(checked_session)]
