"""Who is signed in to the console: a random session cookie checked against the
database, roles, and CSRF tokens.

The JSON API keeps its bearer tokens; a browser cannot hold one safely, so the console
trades a user's name and password (or, for the first administrator, the API token or
DIALTONE_CONSOLE_PASSWORD) for a cookie that is HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it) and Secure when the request came over
TLS. The cookie is only a random token: the session itself is a row
(`accounts.sessions`), so signing out, a password reset and removing a user end it on
every replica. Every form and htmx request carries the session's CSRF token, checked on
every POST; the sign-in form uses a double-submit cookie, since there is no session yet.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response

from ..accounts.audit import AuditLog
from ..accounts.roles import Role
from ..accounts.sessions import SESSION_LIFETIME, SessionStore, secret_stamp
from ..accounts.throttle import SignInThrottle
from ..accounts.users import UserStore
from ..config import Settings
from ..http.services import AppServices, Services

SESSION_COOKIE = "dialtone_console"
LOGIN_COOKIE = "dialtone_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = int(SESSION_LIFETIME.total_seconds())


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in page, htmx gets told to."""


class CsrfRefused(Exception):
    """A POST without this session's CSRF token."""


class RoleRefused(Exception):
    """A staff session asked for a manager's page or action."""


@dataclass(frozen=True)
class Accounts:
    """The console's stores, made once per app by `install_console`."""

    users: UserStore
    sessions: SessionStore
    throttle: SignInThrottle
    audit: AuditLog


def make_accounts(services: AppServices) -> Accounts:
    engine, clock = services.engine, services.clock
    return Accounts(
        users=UserStore(engine, clock=clock),
        sessions=SessionStore(engine, clock=clock),
        throttle=SignInThrottle(engine, clock=clock),
        audit=AuditLog(engine, clock=clock),
    )


def install_accounts(app: FastAPI, accounts: Accounts | None = None) -> Accounts:
    made = accounts or make_accounts(app.state.services)
    app.state.accounts = made
    return made


def app_accounts(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


AccountsDep = Annotated[Accounts, Depends(app_accounts)]


@dataclass(frozen=True)
class ConsoleSession:
    token_hash: str
    actor: str
    role: Role
    csrf: str
    user_id: int | None

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER


def sign_in_secret(settings: Settings) -> str:
    """The console password when set, else the API token (create_app requires one)."""
    return settings.console_password.get_secret_value() or settings.api_token.get_secret_value()


def shared_stamp(settings: Settings) -> str:
    return secret_stamp(sign_in_secret(settings))


def password_matches(settings: Settings, given: str) -> bool:
    expected = sign_in_secret(settings).encode()
    return bool(expected) and hmac.compare_digest(given.encode(), expected)


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


def current_session(request: Request, services: Services, accounts: AccountsDep) -> ConsoleSession:
    found = accounts.sessions.read(
        request.cookies.get(SESSION_COOKIE), shared_stamp=shared_stamp(services.settings)
    )
    if found is None:
        raise SignInRequired()
    return ConsoleSession(
        token_hash=found.token_hash,
        actor=found.actor,
        role=found.role,
        csrf=found.csrf,
        user_id=found.user_id,
    )


Session = Annotated[ConsoleSession, Depends(current_session)]


def manager_session(session: Session) -> ConsoleSession:
    if not session.is_manager:
        raise RoleRefused()
    return session


Manager = Annotated[ConsoleSession, Depends(manager_session)]


async def checked_session(
    request: Request, services: Services, accounts: AccountsDep
) -> ConsoleSession:
    """A signed-in session whose POST carries its CSRF token (form field or header)."""
    session = current_session(request, services, accounts)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else ""
    if not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise CsrfRefused()
    return session


Checked = Annotated[ConsoleSession, Depends(checked_session)]


def checked_manager(session: Checked) -> ConsoleSession:
    if not session.is_manager:
        raise RoleRefused()
    return session


CheckedManager = Annotated[ConsoleSession, Depends(checked_manager)]


def utc_now() -> datetime:
    return datetime.now(UTC)
