"""Console sessions kept in the database, so ending one ends it everywhere.

The browser's cookie holds 32 random bytes; the table holds their SHA-256, so a copy of
the database does not hand out sessions. A session lasts 12 hours from sign-in. Signing
out deletes the row; resetting a user's password or removing the user deletes all of
theirs (`users`); a session opened with the shared API token (or console password)
carries a stamp of that secret and ends when the secret is changed. The user's role is
read afresh on every request, so a role change applies at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select

from ..db.tables import console_sessions, console_users
from .roles import Role

SESSION_LIFETIME = timedelta(hours=12)
#: The actor name of a session opened with the API token or the console password.
OPERATOR = "operator"


@dataclass(frozen=True, kw_only=True)
class Session:
    token_hash: str
    user_id: int | None
    actor: str
    role: Role
    csrf: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secret_stamp(secret: str) -> str:
    """A short fingerprint of the shared sign-in secret (not enough to guess it)."""
    return hmac.new(b"dialtone console stamp", secret.encode(), "sha256").hexdigest()[:32]


class SessionStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self.clock = clock or (lambda: datetime.now(UTC))

    def open(self, *, user_id: int | None, actor: str, role: Role, stamp: str = "") -> str:
        """A new session; returns the cookie's token (shown once, stored hashed)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(delete(console_sessions).where(console_sessions.c.expires_at <= now))
            conn.execute(
                insert(console_sessions).values(
                    token_hash=_hash(token),
                    user_id=user_id,
                    actor=actor,
                    role=role.value,
                    stamp=stamp,
                    csrf=secrets.token_urlsafe(30),
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
        return token

    def read(self, token: str | None, *, shared_stamp: str) -> Session | None:
        """The live session this cookie proves, or None."""
        if not token or len(token) > 200:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(console_sessions, console_users.c.role.label("user_role"))
                .outerjoin(console_users, console_users.c.id == console_sessions.c.user_id)
                .where(console_sessions.c.token_hash == _hash(token))
            ).first()
        if row is None or row.expires_at <= self.clock():
            return None
        if row.user_id is None:
            if not hmac.compare_digest(row.stamp, shared_stamp):
                return None  # the API token or console password changed since
            role = Role(row.role)
        elif row.user_role is None:
            return None  # the user was removed
        else:
            role = Role(row.user_role)
        return Session(
            token_hash=row.token_hash,
            user_id=row.user_id,
            actor=row.actor,
            role=role,
            csrf=row.csrf,
            expires_at=row.expires_at,
        )

    def close(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(console_sessions).where(console_sessions.c.token_hash == token_hash)
            )

    def close_all_of(self, user_id: int) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                delete(console_sessions).where(console_sessions.c.user_id == user_id)
            ).rowcount
