"""`dialtone calls list | show`: call records in the terminal.

Reads the store named by `DIALTONE_DATABASE_URL` (or the SQLite file under
`DIALTONE_DATA_DIR`) directly, so it works on the worker's machine without the API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ..config import ConfigError, load_settings
from ..records.models import CallOutcome, CallRecord, Direction

if TYPE_CHECKING:  # the store pulls in SQLAlchemy; `dialtone --help` should not
    from ..records.store import RecordStore

app = typer.Typer(help="Call records: every call, inbound and outbound.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _store() -> RecordStore:
    from ..records.job import records_store

    try:
        return records_store(load_settings())
    except ConfigError as exc:
        _fail(str(exc))


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{option}: not an ISO 8601 time, e.g. 2026-06-10T15:00:00Z")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _line(r: CallRecord) -> str:
    who = f"{r.caller_number or '?'} -> {r.called_number or '?'}"
    took = "-"
    if r.ended_at is not None:
        took = f"{(r.ended_at - r.started_at).total_seconds():.0f}s"
    outcome = r.outcome.value if r.outcome is not None else r.status.value
    return (
        f"{r.id}  {r.started_at:%Y-%m-%d %H:%M:%S}  {r.direction.value:<8} "
        f"{outcome:<14} {took:>6}  p95 {_ms(r.latency.response_p95_ms):>5} ms  {who}"
    )


@app.command("list")
def list_calls(
    direction: Annotated[Direction | None, typer.Option(help="inbound or outbound.")] = None,
    outcome: Annotated[CallOutcome | None, typer.Option(help="Only this outcome.")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="Started at or after (ISO 8601; UTC if no zone).")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="Started before (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    cursor: Annotated[str | None, typer.Option(help="Next page, as printed.")] = None,
) -> None:
    """Newest calls first: id, start (UTC), direction, outcome, length, p95 turn latency."""
    from ..records.store import BadCursor, CallFilter

    filters = CallFilter(direction, outcome, _when(since, "--from"), _when(until, "--to"))
    try:
        page, next_cursor = _store().list(filters, limit=limit, cursor=cursor)
    except BadCursor as exc:
        _fail(f"--{exc}")
    for record in page:
        typer.echo(_line(record))
    if not page:
        typer.echo("no calls match")
    if next_cursor is not None:
        typer.echo(f"more: dialtone calls list --cursor {next_cursor}")


@app.command()
def show(record_id: Annotated[str, typer.Argument(help="The call record's id.")]) -> None:
    """One call in full, with its transcript."""
    record = _store().get(record_id)
    if record is None:
        _fail(f"no call record {record_id!r}")
    typer.echo(_line(record))
    fields = record.model_dump(exclude={"transcript", "latency", "id"}, exclude_none=True)
    for key, value in fields.items():
        typer.echo(f"  {key}: {value}")
    lat = record.latency
    typer.echo(
        f"  turns: {lat.turns}; response median {_ms(lat.response_median_ms)} ms, "
        f"p95 {_ms(lat.response_p95_ms)} ms; LLM TTFT median {_ms(lat.llm_ttft_median_ms)} "
        f"ms; TTS TTFB median {_ms(lat.tts_ttfb_median_ms)} ms"
    )
    if record.transcript is None:
        typer.echo("  transcript: not kept (DIALTONE_RECORD_TRANSCRIPTS=drop)")
        return
    typer.echo("  transcript:")
    for line in record.transcript:
        mark = " [interrupted]" if line.interrupted else ""
        typer.echo(f"    {line.at:7.1f}s  {line.speaker:<6}  {line.text}{mark}")
