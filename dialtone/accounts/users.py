"""Named console users: add, list, remove, reset, and check a password at sign-in.

Passwords are hashed with argon2id (argon2-cffi's defaults, re-hashed on sign-in when
those defaults grow). A sign-in for a name that does not exist still runs one hash, so
the answer's timing does not tell which names exist. Each change is written to the
audit log in the same transaction; removing a user or resetting a password also ends
that user's sessions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..db.tables import console_sessions, console_users
from ..passwords import password_problem
from . import audit
from .roles import Role

_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")


class UserError(Exception):
    """A user command that cannot be done; the message says why, in one line."""


@dataclass(frozen=True, kw_only=True)
class User:
    id: int
    name: str
    role: Role
    password_hash: str
    created_at: datetime
    updated_at: datetime


def check_name(name: str) -> str:
    lowered = name.strip().lower()
    if not _NAME.fullmatch(lowered):
        raise UserError(
            f"user name {name!r}: 2-64 characters, letters, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    return lowered


def check_password(password: str, name: str) -> None:
    problem = password_problem(password, name=name)
    if problem is not None:
        raise UserError(f"the password {problem}")


class UserStore:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock or (lambda: datetime.now(UTC))
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash("dialtone: no such user")

    def get(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(console_users).where(console_users.c.name == name.strip().lower())
            ).first()
        return None if row is None else _user(row)

    def get_by_id(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(console_users).where(console_users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(console_users).order_by(console_users.c.name)).all()
        return [_user(r) for r in rows]

    def add(self, name: str, role: Role, password: str, *, actor: str) -> User:
        name = check_name(name)
        check_password(password, name)
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(console_users).values(
                        name=name,
                        role=role.value,
                        password_hash=self.hasher.hash(password),
                        created_at=now,
                        updated_at=now,
                    )
                )
                audit.record(
                    conn, actor=actor, action="user.add", target=name, detail=role.value, at=now
                )
        except IntegrityError:
            raise UserError(f"a user named {name!r} exists already") from None
        found = self.get(name)
        assert found is not None
        return found

    def remove(self, name: str, *, actor: str) -> None:
        name = check_name(name)
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(console_users.c.id).where(console_users.c.name == name)
            ).first()
            if row is None:
                raise UserError(f"no user named {name!r} (see `dialtone users list`)")
            conn.execute(delete(console_sessions).where(console_sessions.c.user_id == row.id))
            conn.execute(delete(console_users).where(console_users.c.id == row.id))
            audit.record(conn, actor=actor, action="user.remove", target=name, at=now)

    def reset(self, name: str, password: str, *, actor: str, role: Role | None = None) -> None:
        """A new password (and role, if given); every session of the user ends."""
        name = check_name(name)
        check_password(password, name)
        now = self.clock()
        values: dict[str, object] = {
            "password_hash": self.hasher.hash(password),
            "updated_at": now,
        }
        if role is not None:
            values["role"] = role.value
        with self.engine.begin() as conn:
            row = conn.execute(
                select(console_users.c.id).where(console_users.c.name == name)
            ).first()
            if row is None:
                raise UserError(f"no user named {name!r} (see `dialtone users list`)")
            conn.execute(update(console_users).where(console_users.c.id == row.id).values(values))
            conn.execute(delete(console_sessions).where(console_sessions.c.user_id == row.id))
            detail = "password" + (f", role {role.value}" if role is not None else "")
            audit.record(conn, actor=actor, action="user.reset", target=name, detail=detail, at=now)

    def verify(self, name: str, password: str) -> User | None:
        """The user whose name and password these are, else None (in about equal time)."""
        try:
            lowered = check_name(name)
        except UserError:
            lowered = ""
        user = self.get(lowered) if lowered else None
        try:
            self.hasher.verify(user.password_hash if user else self._dummy, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            with self.engine.begin() as conn:
                conn.execute(
                    update(console_users)
                    .where(
                        console_users.c.id == user.id,
                        console_users.c.password_hash == user.password_hash,
                    )
                    .values(password_hash=self.hasher.hash(password))
                )
            refreshed = self.get_by_id(user.id)
            return refreshed or user
        return user


def _user(row: object) -> User:
    return User(
        id=row.id,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        role=Role(row.role),  # type: ignore[attr-defined]
        password_hash=row.password_hash,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        updated_at=row.updated_at,  # type: ignore[attr-defined]
    )
