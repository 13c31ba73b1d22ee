"""Phone number normalization, as the server compares numbers (`NormalizeNumber`).

Conflict checks and List filters compare numbers after this, so "+1 (555) 000-1"
and "15550001" are the same number to the server — a double that compared raw
strings would accept configurations the real server refuses.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^\+?[\d\- ()]+$")
_STRIP = str.maketrans("", "", " -()")


def normalize_number(num: str) -> str:
    """Strip spaces, dashes and parentheses and ensure a leading "+".

    Anything that is not number-like (a SIP user such as "alice", a number with
    letters) is returned unchanged, exactly as the server does.
    """
    if not num:
        return ""
    if not _NUMBER.match(num):
        return num
    out = num.translate(_STRIP)
    return out if out.startswith("+") else "+" + out


def go_quote_list(items: list[str]) -> str:
    """Go's ``fmt.Sprintf("%q", []string{...})``, used in the server's error text."""
    return (
        "[" + " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in items) + "]"
    )
