"""How strong a secret must be: the API token, the console password, a user's password.

A secret is refused with one line saying what to change, never echoing the secret. The
API token is a machine's secret, so it must look machine-made: at least 32 characters
drawn from a wide set (`secrets.token_urlsafe(24)` or `openssl rand -hex 16` pass, a
word repeated does not). A person's password is held to length and to a list of the
passwords attackers try first (shipped beside this module, lower-cased, one a line),
and may not contain the user's own name.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cache
from pathlib import Path

MIN_TOKEN_CHARS = 32
#: Estimated bits a token must carry by `estimated_bits` (32 hex digits of 16 random
#: bytes score about 110; a word padded with digits scores far less).
MIN_TOKEN_BITS = 80.0
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1000

_COMMON = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of passwords attackers try first, lower-cased."""
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def estimated_bits(secret: str) -> float:
    """Shannon entropy of the secret's own characters times its length: a cheap lower
    bound on guessing work for a machine-made token, and low for repeated words."""
    if not secret:
        return 0.0
    counts = Counter(secret)
    n = len(secret)
    per_char = -sum(c / n * math.log2(c / n) for c in counts.values())
    return per_char * n


def token_problem(token: str) -> str | None:
    """Why this API token is too weak, or None."""
    if len(token) < MIN_TOKEN_CHARS:
        return (
            f"is {len(token)} characters; use at least {MIN_TOKEN_CHARS} random ones "
            "(e.g. `openssl rand -hex 32`)"
        )
    if estimated_bits(token) < MIN_TOKEN_BITS or _looks_like_a_pattern(token):
        return "is not random enough (a word or pattern); use e.g. `openssl rand -hex 32`"
    return None


def _looks_like_a_pattern(secret: str) -> bool:
    lowered = secret.lower()
    # One short run repeated ("abcabcabc...") or a common password padded out.
    for size in range(1, 9):
        unit = lowered[:size]
        if unit and (unit * (len(lowered) // size + 1)).startswith(lowered):
            return True
    return False


def password_problem(password: str, *, name: str = "") -> str | None:
    """Why a person's password is refused, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"is too short: at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"is too long: at most {MAX_PASSWORD_CHARS} characters"
    lowered = password.lower()
    if lowered in common_passwords() or _looks_like_a_pattern(password):
        return "is on the list of passwords attackers try first; choose another"
    stripped = lowered.rstrip("0123456789!@#$%^&*.?")
    if stripped in common_passwords():
        return "is a common password with digits or symbols added; choose another"
    if name and len(name) >= 3 and name.lower() in lowered:
        return "contains the user's name; choose another"
    return None
