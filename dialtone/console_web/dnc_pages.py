"""The do-not-call list: search one number, add, remove, and page through it.

Managers only. Removing a number asks first (a page naming the number and why it was
listed), and the page after a removal offers Undo, which puts the number back with its
reason. Every add, removal and undo is in the audit log with who did it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..http.services import AppServices, Services
from ..wire import normalize_phone
from .rendering import render
from .session import AccountsDep, CheckedManager, ConsoleSession, Manager

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
    undo: tuple[str, str] | None = None,
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
        undo=undo,
    )


@router.get("/dnc", response_class=HTMLResponse)
def dnc_page(
    request: Request,
    services: Services,
    session: Manager,
    phone: Annotated[str, Query(max_length=40)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    return _page(request, services, session, search=phone, offset=offset)


@router.post("/dnc", response_class=HTMLResponse)
def dnc_add(
    request: Request,
    services: Services,
    session: CheckedManager,
    accounts: AccountsDep,
    phone: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
    undo: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        number = normalize_phone(phone)
    except ValueError as exc:
        return _page(request, services, session, error=f"phone: {exc}", status_code=422)
    why = reason.strip() or "added in the console"
    services.campaigns.add_dnc([number], why, services.clock())
    accounts.audit.add(
        actor=session.actor,
        action="dnc.undo-remove" if undo else "dnc.add",
        target=number,
        detail=why,
    )
    notice = f"{number} is back on the list." if undo else f"{number} will not be called."
    return _page(request, services, session, notice=notice)


@router.get("/dnc/{phone}/remove", response_class=HTMLResponse)
def dnc_remove_confirm(
    phone: Annotated[str, Path(max_length=40)],
    request: Request,
    services: Services,
    session: Manager,
) -> Response:
    """Ask before removing: the number will be callable again."""
    entry = services.campaigns.get_dnc(phone)
    if entry is None:
        return _page(request, services, session, error=f"{phone} is not on the list.")
    return render(request, "dnc_remove.html", session, entry=entry)


@router.post("/dnc/{phone}/remove", response_class=HTMLResponse)
def dnc_remove(
    phone: Annotated[str, Path(max_length=40)],
    request: Request,
    services: Services,
    session: CheckedManager,
    accounts: AccountsDep,
) -> Response:
    entry = services.campaigns.get_dnc(phone)
    if entry is None or not services.campaigns.remove_dnc(phone):
        return _page(request, services, session, error=f"{phone} is not on the list.")
    accounts.audit.add(actor=session.actor, action="dnc.remove", target=phone, detail=entry[1])
    return _page(
        request,
        services,
        session,
        notice=f"{phone} was removed from the list and may be called again.",
        undo=(entry[0], entry[1]),
    )
