"""Signing in and out of the console.

A user signs in with their name and password (`dialtone users add`); with the name left
blank, the API token (or DIALTONE_CONSOLE_PASSWORD) signs in the operator, as a
manager, which is how the first administrator gets in. A wrong answer gets the same
page and a 401, with no hint of which part was wrong. Attempts are spaced out per
account and per address (`accounts.throttle`): a refused attempt is a 429 with
Retry-After, and its password is not even checked. Sign-out deletes the session row,
so a copied cookie stops working at once. Sign-ins, failures and sign-outs go to the
audit log.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..accounts.roles import Role
from ..accounts.sessions import OPERATOR
from ..http.services import Services
from .rendering import SECURITY_HEADERS, render
from .session import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    AccountsDep,
    Checked,
    password_matches,
    set_cookie,
    shared_stamp,
)

router = APIRouter(include_in_schema=False)


def _login_page(
    request: Request,
    services: Services,
    error: str | None,
    status: int,
    *,
    name: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    nonce = secrets.token_urlsafe(18)
    page = render(
        request,
        "login.html",
        None,
        login_nonce=nonce,
        error=error,
        signin_name=name,
        status_code=status,
        title="Sign in",
    )
    set_cookie(page, request, services.settings, LOGIN_COOKIE, nonce, 600)
    for key, value in (headers or {}).items():
        page.headers[key] = value
    return page


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, services: Services) -> Response:
    return _login_page(request, services, None, 200)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    services: Services,
    accounts: AccountsDep,
    password: Annotated[str, Form(max_length=1000)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not hmac.compare_digest(nonce.encode(), csrf.encode()):
        return _login_page(request, services, "The form expired; sign in again.", 403, name=name)
    name = name.strip().lower()
    address = client_address(request)
    keys = [f"addr:{address}", f"user:{name or OPERATOR}"]
    refused = accounts.throttle.admit(keys)
    if refused is not None:
        return _login_page(
            request,
            services,
            f"Too many attempts. Wait {refused.retry_after} seconds, then try again.",
            429,
            name=name,
            headers={"Retry-After": str(refused.retry_after)},
        )
    who: tuple[int | None, str, Role] | None
    if name:
        user = accounts.users.verify(name, password)
        who = (user.id, user.name, user.role) if user else None
        stamp = ""
    else:
        ok = password_matches(services.settings, password)
        who = (None, OPERATOR, Role.MANAGER) if ok else None
        stamp = shared_stamp(services.settings)
    if who is None:
        accounts.audit.add(
            actor=name or OPERATOR, action="sign-in.failed", target=address, detail=None
        )
        return _login_page(request, services, "Wrong name or password.", 401, name=name)
    accounts.throttle.clear(keys)
    user_id, actor, role = who
    token = accounts.sessions.open(user_id=user_id, actor=actor, role=role, stamp=stamp)
    accounts.audit.add(actor=actor, action="sign-in", target=address)
    response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
    set_cookie(response, request, services.settings, SESSION_COOKIE, token, SESSION_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, session: Checked, accounts: AccountsDep) -> Response:
    accounts.sessions.close(session.token_hash)
    accounts.audit.add(actor=session.actor, action="sign-out", target=client_address(request))
    response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
