"""Signing in and out of the console.

A wrong password gets the same page and a 401, with no hint of which part was wrong;
the comparison is in constant time. Sign-out clears the cookie; a copied cookie stays
valid until it expires (12 hours), so sign-in secrets are rotated by changing them.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..http.services import Services
from .rendering import SECURITY_HEADERS, render
from .session import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Checked,
    new_session_cookie,
    password_matches,
    set_cookie,
)

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, services: Services, error: str | None, status: int) -> Response:
    nonce = secrets.token_urlsafe(18)
    page = render(request, "login.html", None, login_nonce=nonce, error=error, status_code=status)
    set_cookie(page, request, services.settings, LOGIN_COOKIE, nonce, 600)
    return page


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, services: Services) -> Response:
    return _login_page(request, services, None, 200)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    services: Services,
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not hmac.compare_digest(nonce.encode(), csrf.encode()):
        return _login_page(request, services, "The form expired; sign in again.", 403)
    if not password_matches(services.settings, password):
        return _login_page(request, services, "Wrong token or password.", 401)
    response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
    cookie = new_session_cookie(services.settings)
    set_cookie(response, request, services.settings, SESSION_COOKIE, cookie, SESSION_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(_session: Checked) -> Response:
    response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
