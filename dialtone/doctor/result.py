"""One check's verdict and the whole report.

A check is PASS, FAIL or SKIP (with why it did not run). A FAIL carries the fix in one
sentence: the reader of a doctor report is an operator mid-setup, and "what do I change"
is the only question. `severity` separates a broken deployment from one that works
but badly (a slow provider): both fail the run, the renderer marks them apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


#: Said in every report, text and JSON, until someone reports a real run.
UNPROVEN = (
    "No doctor check has met a real deployment yet (they were built against a stand-in "
    "LiveKit server): please report this output, with secrets removed, as an issue on the "
    "dialtone project."
)


@dataclass(frozen=True)
class Check:
    """One verdict. `fix` is set for FAIL, `detail` says what was seen."""

    family: str
    name: str
    status: Status
    detail: str = ""
    fix: str = ""
    severity: Severity = Severity.ERROR
    seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "name": self.name,
            "status": self.status.value,
            "severity": self.severity.value if self.status is Status.FAIL else None,
            "detail": self.detail,
            "fix": self.fix or None,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
        }


def passed(family: str, name: str, detail: str = "", *, seconds: float | None = None) -> Check:
    return Check(family, name, Status.PASS, detail, seconds=seconds)


def failed(
    family: str,
    name: str,
    detail: str,
    fix: str,
    *,
    severity: Severity = Severity.ERROR,
    seconds: float | None = None,
) -> Check:
    return Check(family, name, Status.FAIL, detail, fix, severity, seconds)


def skipped(family: str, name: str, why: str) -> Check:
    return Check(family, name, Status.SKIP, why)


@dataclass
class Report:
    """Every check in the order it ran; `ok` only when none failed."""

    target: str = ""
    checks: list[Check] = field(default_factory=list)

    def add(self, checks: Check | Iterable[Check]) -> None:
        if isinstance(checks, Check):
            self.checks.append(checks)
        else:
            self.checks.extend(checks)

    @property
    def ok(self) -> bool:
        return not any(c.status is Status.FAIL for c in self.checks)

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for c in self.checks if c.status is s) for s in Status}

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "target": self.target,
            "summary": self.counts(),
            "checks": [c.to_json() for c in self.checks],
            "notice": UNPROVEN,
        }
