"""The receptionist's messages: the inbox with search and a filter by line, and marking
a message handled in place."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..http.services import AppServices, Services
from ..messages.inbox import MessageFilter, mark_handled, page_messages
from ..records.store import BadCursor
from .callquery import record_ids_for_sip_calls
from .choices import persona_names
from .rendering import render
from .session import AccountsDep, Checked, ConsoleSession, Session

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=100)]


def _inbox(
    request: Request,
    services: AppServices,
    session: ConsoleSession,
    *,
    text: str = "",
    persona: str = "",
    cursor: str | None = None,
    focus: str | None = None,
    notice: str | None = None,
    template: str = "messages.html",
) -> Response:
    """The inbox: waiting messages (all of them, up to 200) and a page of handled ones,
    filtered by words and persona. `focus` names the element that should take the
    keyboard focus after an in-place update."""
    base = MessageFilter(text=text or None, persona=persona or None)
    waiting, _ = page_messages(services.engine, replace(base, handled=False), limit=200)
    try:
        handled, next_cursor = page_messages(
            services.engine, replace(base, handled=True), limit=50, cursor=cursor
        )
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    calls = record_ids_for_sip_calls(
        services.engine, {m.call_id for m in [*waiting, *handled] if m.call_id}
    )
    names = persona_names(services.settings)
    return render(
        request,
        template,
        session,
        waiting=waiting,
        handled=handled,
        next_cursor=next_cursor,
        calls=calls,
        personas=names,
        filters={"q": text, "persona": persona},
        focus=focus,
        notice=notice,
    )


@router.get("/messages", response_class=HTMLResponse)
def messages_page(
    request: Request,
    services: Services,
    session: Session,
    q: Annotated[str, Query(max_length=100)] = "",
    persona: Text = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    return _inbox(request, services, session, text=q, persona=persona, cursor=cursor)


@router.post("/messages/{message_id}/handled", response_class=HTMLResponse)
def handle_message(
    message_id: str,
    request: Request,
    services: Services,
    session: Checked,
    accounts: AccountsDep,
) -> Response:
    """Mark a message handled. From the page (htmx) the whole inbox comes back: the
    message moves to Handled, the count drops, and the focus goes to the next waiting
    message (or the Waiting heading), never to the page body."""
    before, _ = page_messages(services.engine, MessageFilter(handled=False), limit=200)
    found = mark_handled(services.engine, message_id, services.clock())
    if found is None:
        return render(request, "refused.html", session, status_code=404, reason="No such message.")
    accounts.audit.add(actor=session.actor, action="message.handled", target=message_id)
    if not request.headers.get("hx-request"):  # a plain form post: back to the inbox
        return RedirectResponse("/messages", status_code=303)
    ids = [m.id for m in before]
    after = ids[ids.index(message_id) + 1 :] if message_id in ids else []
    before_it = ids[: ids.index(message_id)] if message_id in ids else []
    candidates = after or list(reversed(before_it))
    focus = f"handle-{candidates[0]}" if candidates else "waiting-h"
    who = found.caller_name or found.caller_number or "a caller"
    return _inbox(
        request,
        services,
        session,
        focus=focus,
        notice=f"Marked handled: the message from {who}.",
        template="inbox.html",
    )
