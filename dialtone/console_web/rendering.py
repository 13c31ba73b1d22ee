"""Jinja2 pages with the headers every console response carries.

Autoescaping is on for every template: message texts, transcripts and campaign names
are what callers and uploads put there. The Content-Security-Policy allows scripts and
styles from this server only (no inline script: chart data travels as JSON in a
`<script type="application/json">`), and no page may be framed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from .session import CSRF_FIELD, ConsoleSession
from .words import days_text, say

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(context: Context, value: datetime | None) -> str:
    """A time in the deployment's zone (DIALTONE_TIMEZONE), with the zone's abbreviation."""
    if value is None:
        return ""
    zone = context.get("zone") or UTC
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _clock(context: Context, value: datetime | None) -> str:
    """Only the time of day, in the deployment's zone: for today's rows."""
    if value is None:
        return ""
    zone = context.get("zone") or UTC
    return value.astimezone(zone).strftime("%H:%M")


def zone_of(request: Request) -> ZoneInfo:
    settings = request.app.state.services.settings
    return ZoneInfo(settings.console_timezone)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _script_json(value: Any) -> Markup:
    """JSON for a `<script type="application/json">`: not HTML-escaped (the browser does
    not unescape there), but with `<`, `>` and `&` as JSON escapes, so no value can
    close the script element."""
    text = json.dumps(value, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return Markup(text)


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(
    when=pass_context(_when), clock=pass_context(_clock), ms=_ms, share=_share
)
environment.filters["tojson_data"] = _script_json
environment.filters["say"] = say
environment.filters["days_text"] = days_text


def render(
    request: Request,
    name: str,
    session: ConsoleSession | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = environment.get_template(name).render(
        request=request,
        path=request.url.path,
        csrf=session.csrf if session else None,
        me=session,
        zone=zone_of(request),
        csrf_field=CSRF_FIELD,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
