"""Identifiers shaped like the server's (`guid.New`): prefix + 12 base57 chars.

Callers sometimes check prefixes ("ST_", "SDR_", "AD_"), so the double keeps them.
"""

from __future__ import annotations

import hashlib
import secrets

_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_SIZE = 12

TRUNK = "ST_"
DISPATCH_RULE = "SDR_"
SIP_CALL = "SCL_"
SIP_TRANSFER = "STR_"
AGENT_DISPATCH = "AD_"
ROOM = "RM_"
PARTICIPANT = "PA_"


def new_id(prefix: str) -> str:
    """A random id with the given prefix."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(_SIZE))


def hashed_id(prefix: str, data: str) -> str:
    """A deterministic id, like the server's `DeterministicID(prefix, requestID)`.

    The server derives agent dispatch ids from the request id, so a client retry
    with the same ``X-Livekit-Request-Id`` does not dispatch the agent twice.
    """
    digest = hashlib.sha256(data.encode()).digest()
    value = int.from_bytes(digest, "big")
    chars = []
    for _ in range(_SIZE):
        value, rem = divmod(value, len(_ALPHABET))
        chars.append(_ALPHABET[rem])
    return prefix + "".join(chars)
