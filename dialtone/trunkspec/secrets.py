"""Secrets in trunk files: read from the environment, compared, never printed.

A trunk file names a secret as `${ENV_VAR}`; `Secret` holds the resolved value behind a
`repr` that shows only the reference, so a stray log line or f-string cannot leak it.

LiveKit Cloud may return `auth_password` empty from the List APIs, so dialtone cannot
always compare a password with the live one. It therefore stores a *fingerprint* in the
object's ownership metadata. Anyone with `sip.admin` can read that metadata, so the
fingerprint must not make a password cheap to guess: it is scrypt (memory-hard, tens of
milliseconds per guess) with a random salt per object, so one precomputed table cannot
serve every trunk and two trunks sharing a password do not show it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
MASK = "********"
CHANGED = "(secret changed)"
# A header whose name says it carries a credential (`X-Api-Key`, `Authorization`,
# `X-Auth-Token`, `X-Signature`...) takes its value only as `${ENV_VAR}`.
_SECRET_HEADER = re.compile(r"key|token|secret|auth|passw|signature", re.IGNORECASE)

# scrypt cost: n=2**14, r=8 (16 MiB, ~40 ms here); the format string records them so
# the cost can be raised later without breaking old fingerprints.
_N, _R, _P = 2**14, 8, 1
_SCHEME = "scrypt"


class Secret:
    """A resolved secret; `str()`/`repr()` show the `${VAR}` reference, never the value."""

    __slots__ = ("_value", "ref")

    def __init__(self, ref: str, value: str) -> None:
        self.ref = ref
        self._value = value

    def reveal(self) -> str:
        """The value, for the API request and for comparison only."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.ref})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(
            self._value.encode(), other._value.encode()
        )

    def __hash__(self) -> int:
        return hash(self.ref)


def env_name(ref: str) -> str | None:
    """`${CARRIER_PASSWORD}` -> `CARRIER_PASSWORD`; None when `ref` is not a reference."""
    match = REF.match(ref)
    return match.group(1) if match else None


def is_secret_header(name: str) -> bool:
    """True when a SIP header's name says its value is a credential."""
    return _SECRET_HEADER.search(name) is not None


def masked_headers(
    old: dict[str, str], new: dict[str, str], secret: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """`old` and `new` for display: every header in `secret` or named like a credential
    shows as MASK, or as CHANGED on the new side when its value differs."""
    hidden = secret | {k for k in [*old, *new] if is_secret_header(k)}
    shown_old = {k: MASK if k in hidden else v for k, v in old.items()}
    shown_new = {
        k: (CHANGED if k in old and old[k] != v else MASK) if k in hidden else v
        for k, v in new.items()
    }
    return shown_old, shown_new


def fingerprint(value: str, *, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash` (base64) of `value` with a fresh random salt."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(value.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(
        [_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)],
    )


def matches(value: str, stored: str) -> bool:
    """True when `stored` is a fingerprint of `value` (constant-time comparison)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16 and len(expected) == 32):
        return False  # refuse a planted fingerprint that would make us burn CPU or memory
    digest = hashlib.scrypt(value.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=2**27)
    return hmac.compare_digest(digest, expected)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("bad base64") from exc
