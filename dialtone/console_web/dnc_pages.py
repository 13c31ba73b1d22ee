"""The do-not-call list: search one number, add, remove, and page through it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..http.services import AppServices, Services
from ..wire import normalize_phone
from .rendering import render
from .session import Checked, ConsoleSession, Session

router = APIRouter(include_in_schema=False)
PAGE = 50


def _page(
    request: Request,
    services: AppServices,
    session: ConsoleSession,
    *,
    search: str = "",
    offset: int = 0,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    found = None
    if search and error is None:
        try:
            found = services.campaigns.get_dnc(normalize_phone(search)) or False
        except ValueError as exc:
            error = str(exc)
    entries = services.campaigns.list_dnc(limit=PAGE + 1, offset=offset)
    return render(
        request,
        "dnc.html",
        session,
        status_code=status_code,
        entries=entries[:PAGE],
        more=len(entries) > PAGE,
        offset=offset,
        page=PAGE,
        search=search,
        found=found,
        notice=notice,
        error=error,
    )


@router.get("/dnc", response_class=HTMLResponse)
def dnc_page(
    request: Request,
    services: Services,
    session: Session,
    phone: Annotated[str, Query(max_length=40)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    return _page(request, services, session, search=phone, offset=offset)


@router.post("/dnc", response_class=HTMLResponse)
def dnc_add(
    request: Request,
    services: Services,
    session: Checked,
    phone: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        number = normalize_phone(phone)
    except ValueError as exc:
        return _page(request, services, session, error=f"phone: {exc}", status_code=422)
    services.campaigns.add_dnc([number], reason.strip() or "added in the console", services.clock())
    return _page(request, services, session, notice=f"{number} will not be called.")


@router.post("/dnc/{phone}/remove")
def dnc_remove(phone: str, services: Services, _session: Checked) -> Response:
    services.campaigns.remove_dnc(phone)
    return RedirectResponse("/dnc", status_code=303)
