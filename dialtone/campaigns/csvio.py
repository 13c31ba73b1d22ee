"""Contacts in from a CSV upload, results out as CSV.

Upload: a header row naming the columns; `phone` is required, `name`, `timezone`,
`country` and `region` (where the callee is, see campaigns.policy.location)
are optional, every other column becomes a variable for the agent (empty cells are
left out). Rows are numbered as contacts, from 1, as in a JSON list: the header is not
counted and a blank line is (so row N is the spreadsheet's row N + 1). Problems with the
header itself have no row.

Export: text cells that a spreadsheet would run as a formula (starting with = + - @ or
a control character) get a leading apostrophe; phone numbers are E.164 by construction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

from .models import RowError, RowErrors
from .store import ResultRow

KNOWN_COLUMNS = ("phone", "name", "timezone", "country", "region")
MAX_COLUMNS = 60
RESULT_COLUMNS = (
    "row",
    "phone",
    "name",
    "timezone",
    "state",
    "attempts",
    "last_outcome",
    "last_detail",
    "updated_at",
)


def parse_contacts_csv(data: bytes) -> tuple[list[tuple[int, dict[str, Any]]], RowErrors]:
    """(row number, raw contact) pairs, and the problems found in the file itself."""
    errors = RowErrors()
    rows = list(read_contacts_csv(io.BytesIO(data), errors))
    return rows, errors


def read_contacts_csv(binary: IO[bytes], errors: RowErrors) -> Iterator[tuple[int, dict[str, Any]]]:
    """Stream (row number, raw contact) pairs from a CSV file; file problems go to `errors`.

    Streaming keeps the API's memory flat in the size of the upload (Starlette spools
    uploads over 1 MB to a temporary file; this reads it row by row).
    """
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    try:
        yield from _read(text, errors)
    except UnicodeDecodeError as exc:
        errors.append(RowError(None, "contacts", f"the CSV file is not UTF-8 ({exc.reason})"))
    finally:
        text.detach()  # the caller owns the file


def _read(text: IO[str], errors: RowErrors) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        errors.append(RowError(None, "contacts", "the CSV file is empty"))
        return
    except csv.Error as exc:
        errors.append(RowError(None, "(header)", f"not valid CSV: {exc}"))
        return
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]
    problems: list[RowError] = []
    if "phone" not in lowered:
        separator = next((sep for sep in (";", "\t", "|") if sep in ",".join(names)), None)
        if separator is not None and any(
            part.strip().lower() == "phone" for part in ",".join(names).split(separator)
        ):
            # Spreadsheets in many locales save "CSV" with semicolons: say so, not just
            # that the (single, whole-line) column is not called phone.
            shown = "tabs" if separator == "\t" else f"{separator!r}"
            problems.append(
                RowError(
                    None,
                    "phone",
                    f"the columns are separated by {shown}, not commas: save the file "
                    "as comma-separated CSV",
                )
            )
        else:
            problems.append(RowError(None, "phone", "the header has no phone column"))
    if len(names) > MAX_COLUMNS:
        problems.append(RowError(None, "(header)", f"at most {MAX_COLUMNS} columns"))
    seen: set[str] = set()
    for name, low in zip(names, lowered, strict=True):
        if not name:
            problems.append(RowError(None, "(header)", "a column has no name"))
        elif low in seen:
            problems.append(RowError(None, name, "the column appears twice"))
        seen.add(low)
    if problems:
        errors.extend(problems)
        return
    row = 0
    try:
        for record in reader:
            row += 1
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                errors.append(
                    RowError(
                        row,
                        "(row)",
                        f"has {len(record)} fields; the header has {len(names)}",
                    )
                )
                continue
            contact: dict[str, Any] = {}
            variables: dict[str, Any] = {}
            for name, low, cell in zip(names, lowered, record, strict=True):
                value = cell.strip()
                if low in KNOWN_COLUMNS:
                    if value:
                        contact[low] = value
                elif value:
                    variables[name] = value
            contact.setdefault("phone", "")
            if variables:
                contact["variables"] = variables
            yield row, contact
    except csv.Error as exc:
        errors.append(RowError(row + 1, "(row)", f"not valid CSV: {exc}"))


def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    if text and (text[0] in "=+-@" or text[0] in "\t\r\n"):
        return "'" + text
    return text


def render_results(rows: Iterable[ResultRow], variable_names: list[str]) -> Iterator[str]:
    """CSV text in chunks of 500 rows, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow([*RESULT_COLUMNS, *variable_names])
    yield flush()
    for n, r in enumerate(rows, 1):
        writer.writerow(
            [
                r.row,
                r.phone,
                _safe(r.name),
                r.timezone,
                r.state,
                r.attempts,
                r.last_outcome or "",
                _safe(r.last_detail),
                r.updated_at.isoformat(),
                *(_safe(r.variables.get(name)) for name in variable_names),
            ]
        )
        if n % 500 == 0:  # each chunk is one hop to a thread for the server: not per row
            yield flush()
    yield flush()
