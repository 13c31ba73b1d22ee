"""The report for people: one line per check, the fix under each failure."""

from __future__ import annotations

from .result import UNPROVEN, Check, Report, Severity, Status

LABEL = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.SKIP: "SKIP"}


def _seconds(check: Check) -> str:
    if check.seconds is None:
        return ""
    return f" ({check.seconds * 1000:.0f} ms)" if check.seconds < 1 else f" ({check.seconds:.1f} s)"


def render_text(report: Report) -> str:
    lines = [f"dialtone doctor: LiveKit at {report.target or '(not set)'}"]
    family = None
    width = max((len(c.name) for c in report.checks), default=0)
    for check in report.checks:
        if check.family != family:
            family = check.family
            lines += ["", family]
        warn = (
            " [warning]"
            if check.status is Status.FAIL and check.severity is Severity.WARNING
            else ""
        )
        lines.append(
            f"  {LABEL[check.status]}  {check.name:<{width}}  {check.detail}{_seconds(check)}{warn}"
        )
        if check.status is Status.FAIL and check.fix:
            lines.append(f"        fix: {check.fix}")
    counts = report.counts()
    lines += [
        "",
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped: "
        + (
            "every check that ran passed." if report.ok else "fix the failures above and run again."
        ),
        "",
        UNPROVEN,
    ]
    return "\n".join(lines)
