"""Overview and calls pages (and the calls CSV)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from ..http.recordings import recording_response
from ..http.services import AppServices, Services
from ..messages.inbox import MessageFilter, page_messages
from ..records.models import CallRecord
from ..records.store import BadCursor
from ..wire import CallOutcome
from .attention import Item, attention
from .callquery import (
    BadNumber,
    CallQuery,
    find_calls,
    number_match,
)
from .choices import persona_names
from .export import calls_csv
from .rendering import render, zone_of
from .session import Session
from .stats import Overview, overview
from .words import say

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=100)]


def _day(value: str, name: str) -> datetime | None:
    """A date from a form's date field (UTC midnight), or None if blank."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise HTTPException(422, f"{name}: a date like 2026-06-10") from None


def _attention(services: AppServices) -> tuple[Overview, list[Item]]:
    now = services.clock()
    figures = overview(services.engine, now)
    return figures, attention(services.engine, figures, now.astimezone(UTC).date())


@router.get("/attention", response_class=HTMLResponse)
def attention_part(request: Request, services: Services, session: Session) -> Response:
    """The overview's "needs attention" list alone: what the page polls."""
    figures, items = _attention(services)
    return render(request, "attention.html", session, figures=figures, items=items)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, services: Services, session: Session) -> Response:
    figures, items = _attention(services)
    chart = {
        "days": [d.isoformat() for d in figures.days],
        "daily": figures.daily,
        "today": figures.today.by_outcome,
        "week": figures.week.by_outcome,
        "transfers": figures.week.transfers,
    }
    return render(request, "overview.html", session, figures=figures, chart=chart, items=items)


Since = Annotated[str, Query(alias="from", max_length=10)]
Until = Annotated[str, Query(alias="to", max_length=10)]


@dataclass(frozen=True, kw_only=True)
class CallFilters:
    """The calls list's filters as the browser sent them: the page and its CSV export
    take the same ones, so an export is exactly what the manager was looking at."""

    direction: str
    outcome: str
    persona: str
    campaign: str
    number: str
    since: str
    until: str
    transfer: str

    def query(self) -> CallQuery:
        query = CallQuery(
            transfer=self.transfer or None,
            direction=self.direction or None,
            outcome=self.outcome or None,
            persona=self.persona or None,
            campaign_id=self.campaign or None,
            number=self.number or None,
            since=_day(self.since, "from"),
            until=_day(self.until, "to"),
        )
        if query.number:
            try:
                number_match(query.number)
            except BadNumber as exc:
                raise HTTPException(422, str(exc)) from None
        return query

    def shown(self) -> dict[str, str]:
        """The filters by their names in the page's form and links."""
        return {
            "direction": self.direction,
            "outcome": self.outcome,
            "persona": self.persona,
            "campaign": self.campaign,
            "number": self.number,
            "from": self.since,
            "to": self.until,
            "transfer": self.transfer,
        }


def call_filters(
    direction: Text = "",
    outcome: Text = "",
    persona: Text = "",
    campaign: Text = "",
    number: Text = "",
    since: Since = "",
    until: Until = "",
    transfer: Text = "",
) -> CallFilters:
    return CallFilters(
        direction=direction,
        outcome=outcome,
        persona=persona,
        campaign=campaign,
        number=number,
        since=since,
        until=until,
        transfer=transfer,
    )


Filters = Annotated[CallFilters, Depends(call_filters)]


@router.get("/calls", response_class=HTMLResponse)
def calls_page(
    request: Request,
    services: Services,
    session: Session,
    filters: Filters,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    query = filters.query()
    try:
        rows, next_cursor = find_calls(services.engine, query, limit=50, cursor=cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    except BadNumber as exc:
        raise HTTPException(422, str(exc)) from None
    return render(
        request,
        "calls.html",
        session,
        personas=persona_names(services.settings),
        rows=rows,
        next_cursor=next_cursor,
        filters=filters.shown(),
        outcomes=[o.value for o in CallOutcome],
    )


@router.get("/calls.csv")
def calls_export(
    request: Request, services: Services, _session: Session, filters: Filters
) -> StreamingResponse:
    """The filtered calls as CSV (newest first, at most `export.MAX_ROWS`)."""
    return StreamingResponse(
        calls_csv(services.engine, filters.query(), zone_of(request)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="calls.csv"',
            "Cache-Control": "no-store",
        },
    )


def _timeline(record: CallRecord) -> list[tuple[datetime | None, str]]:
    events: list[tuple[datetime | None, str]] = [(record.started_at, "Call started")]
    if record.ringing_at:
        events.append((record.ringing_at, "Ringing"))
    if record.answered_at:
        events.append((record.answered_at, "Answered"))
    if record.transfer_outcome:
        events.append((None, f"Transfer: {say(record.transfer_outcome, 'transfer')}"))
    if record.sip_status_code:
        events.append(
            (None, f"Phone network said {record.sip_status_code} {record.sip_status or ''}")
        )
    if record.ended_at:
        who = record.hangup_by.value if record.hangup_by else "unknown"
        outcome = say(record.outcome, "outcome") if record.outcome else "no outcome"
        events.append((record.ended_at, f"Ended: {outcome}; hung up by {who}"))
    return events


def _turns(record: CallRecord) -> list[dict[str, Any]]:
    """Transcript lines. No per-line reply time: a line's timestamp is when it started,
    so "agent line minus caller line" includes the caller's own speaking time and
    disagrees with the measured reply time shown once for the call."""
    return [{"line": line} for line in record.transcript or []]


def call_length(record: CallRecord) -> str | None:
    """How long the call lasted, from start to end, as "2 min 05 s"."""
    if record.ended_at is None:
        return None
    seconds = max(0, round((record.ended_at - record.started_at).total_seconds()))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def call_title(record: CallRecord) -> str:
    """ "Inbound call from +15550100222" — the id stays on the page, not in the title."""
    direction = record.direction.value
    if direction == "inbound":
        who = record.caller_number or "a withheld number"
        return f"Call from {who}"
    return f"Call to {record.called_number or 'an unknown number'}"


@router.get("/calls/{record_id}", response_class=HTMLResponse)
def call_page(record_id: str, request: Request, services: Services, session: Session) -> Response:
    record = services.records.get(record_id)
    if record is None:
        return render(
            request, "refused.html", session, status_code=404, reason=f"No call {record_id}."
        )
    notes, _ = (
        page_messages(services.engine, MessageFilter(call_id=record.sip_call_id), limit=20)
        if record.sip_call_id
        else ([], None)
    )
    recordings = services.recordings
    return render(
        request,
        "call.html",
        session,
        record=record,
        personas=persona_names(services.settings),
        title=call_title(record),
        length=call_length(record),
        timeline=_timeline(record),
        turns=_turns(record),
        messages=notes,
        recording=recordings.find(record.id) if recordings is not None else None,
    )


@router.get("/calls/{record_id}/recording")
def call_recording(
    record_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    request: Request,
    services: Services,
    _session: Session,
) -> Response:
    """The same bytes as `GET /v1/calls/{id}/recording`, behind the session cookie."""
    return recording_response(request, services.recordings, record_id)
