"""Problems found in trunk files, each pointing at the place to fix.

Every check (schema, references, environment, routing) reports through `Problem` so the
CLI prints them alike: `file:line:col: field.path: message`. A message never contains a
secret's value: it names the field or the environment variable instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """Where a value was written: file, 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Problem:
    """One finding; `path` is the field path inside the file (`inbound_trunks[0].numbers`)."""

    location: Location
    path: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        prefix = "" if self.severity is Severity.ERROR else "warning: "
        where = f"{self.location}: {self.path}: " if self.path else f"{self.location}: "
        return f"{where}{prefix}{self.message}"


class SpecError(Exception):
    """The trunk files cannot be used; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]
