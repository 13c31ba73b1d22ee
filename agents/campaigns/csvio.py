"""Contacts in from a CSV upload, results out as CSV.

Upload: a header row naming the columns; `phone` is required, `name` and `timezone`
are optional, every other column becomes a variable for the agent (empty cells are
left out). Rows are numbered as a spreadsheet shows them: the header is row 1.

Export: text cells that a spreadsheet would run as a formula (starting with = + - @ or
a control character) get a leading apostrophe; phone numbers are E.164 by construction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from .models import RowError
from .store import ResultRow

KNOWN_COLUMNS = ("phone", "name", "timezone")
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


def parse_contacts_csv(data: bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """(row number, raw contact) pairs, and the problems found in the file itself."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [RowError(None, "contacts", f"the CSV file is not UTF-8 ({exc.reason})")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(None, "contacts", "the CSV file is empty")]
    except csv.Error as exc:
        return [], [RowError(1, "(header)", f"not valid CSV: {exc}")]
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]
    errors: list[RowError] = []
    if "phone" not in lowered:
        errors.append(RowError(1, "phone", "the header has no phone column"))
    if len(names) > MAX_COLUMNS:
        errors.append(RowError(1, "(header)", f"at most {MAX_COLUMNS} columns"))
    seen: set[str] = set()
    for name, low in zip(names, lowered, strict=True):
        if not name:
            errors.append(RowError(1, "(header)", "a column has no name"))
        elif low in seen:
            errors.append(RowError(1, name, "the column appears twice"))
        seen.add(low)
    if errors:
        return [], errors
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        for record in reader:
            row = reader.line_num
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
            rows.append((row, contact))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "(row)", f"not valid CSV: {exc}"))
    return rows, errors


def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    if text and (text[0] in "=+-@" or text[0] in "\t\r\n"):
        return "'" + text
    return text


def render_results(rows: Iterable[ResultRow], variable_names: list[str]) -> Iterator[str]:
    """CSV text, one chunk per row, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow([*RESULT_COLUMNS, *variable_names])
    yield flush()
    for r in rows:
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
        yield flush()
