"""The calls CSV: the list's filters, times in the clinic's zone, no formulas."""

from __future__ import annotations

import csv
import io

import pytest

from dialtone.console_web.export import HEADER, safe_cell

from .conftest import Console
from .test_headers import signed_in


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("+15550100222", "+15550100222"),
        ("-12.5", "-12.5"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("receptionist", "receptionist"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_defused(value: str, written: str) -> None:
    assert safe_cell(value) == written


def test_the_export_follows_the_filters(console: Console) -> None:
    with signed_in(console) as client:
        everything = client.get("/calls.csv")
        none = client.get("/calls.csv?outcome=busy")
        by_digits = client.get("/calls.csv?number=0222")
        bad = client.get("/calls.csv?number=1")
    rows = list(csv.reader(io.StringIO(everything.text)))
    assert rows[0] == HEADER and len(rows) == 2
    started, direction, outcome, _persona, caller, *_ = rows[1]
    assert (direction, outcome, caller) == ("inbound", "completed", "+15550100222")
    assert started.endswith("+00:00")  # the deployment's zone (UTC here), with its offset
    assert everything.headers["content-disposition"] == 'attachment; filename="calls.csv"'
    assert len(list(csv.reader(io.StringIO(none.text)))) == 1
    assert len(list(csv.reader(io.StringIO(by_digits.text)))) == 2
    assert bad.status_code == 422
