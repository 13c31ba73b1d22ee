"""The operator's web console, served at `/` beside the JSON API by `dialtone serve`.

Server-rendered pages (Jinja2) with htmx for the small in-place updates and Chart.js for
the charts, both vendored under `static/vendor/` with their licences: the console loads
nothing from another host. It reads and writes through the same stores as the API.
People sign in by name (`dialtone users add`), or with the API token as the operator,
for a server-side session (`session`); staff see messages and calls, managers also
campaigns, do-not-call and the audit log. The `/v1` routes keep their bearer tokens.
`install_console` adds it to an app that `http.server.create_app` built.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from . import audit_pages, campaign_pages, dnc_pages, message_pages, pages, signin
from .rendering import SECURITY_HEADERS, STATIC, render
from .session import Accounts, CsrfRefused, RoleRefused, SignInRequired, install_accounts

__all__ = ["install_console"]


async def _sign_in(request: Request, _exc: Exception) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    if request.method == "GET":
        return RedirectResponse("/login", status_code=303)
    return HTMLResponse("Sign in first.", status_code=401, headers=SECURITY_HEADERS)


async def _csrf(request: Request, _exc: Exception) -> Response:
    return render(
        request,
        "refused.html",
        None,
        status_code=403,
        reason="This form is stale or came from another page. Reload and try again.",
    )


async def _role(request: Request, _exc: Exception) -> Response:
    return render(
        request,
        "refused.html",
        None,
        status_code=403,
        reason="This needs a manager. Ask a manager to do it, or to change your role.",
    )


async def _favicon(_request: Request) -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


def install_console(app: FastAPI, *, accounts: Accounts | None = None) -> None:
    """Serve the console's pages and static files from `app`."""
    install_accounts(app, accounts)
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(CsrfRefused, _csrf)
    app.add_exception_handler(RoleRefused, _role)
    app.add_route("/favicon.ico", _favicon, include_in_schema=False)
    app.mount("/console-static", StaticFiles(directory=STATIC), name="console-static")
    for module in (signin, pages, message_pages, campaign_pages, dnc_pages, audit_pages):
        app.include_router(module.router)
