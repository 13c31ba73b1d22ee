"""Users: hashed passwords, the password rules, and changes that end sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from dialtone.accounts.audit import AuditLog
from dialtone.accounts.roles import Role
from dialtone.accounts.sessions import SessionStore, secret_stamp
from dialtone.accounts.users import UserError, UserStore
from dialtone.db.tables import console_users

from .conftest import CHEAP, Clock

GOOD = "plum-orchard-Seven-42"


def store(engine: Engine, clock: Clock) -> UserStore:
    return UserStore(engine, clock=clock, hasher=CHEAP)


def test_a_password_is_stored_hashed_and_checked(engine: Engine, clock: Clock) -> None:
    users = store(engine, clock)
    users.add("Dana", Role.MANAGER, GOOD, actor="cli:root")
    with engine.connect() as conn:
        stored = conn.execute(select(console_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and GOOD not in stored
    found = users.verify("dana", GOOD)
    assert found is not None and found.role is Role.MANAGER
    assert users.verify("dana", GOOD + "x") is None
    assert users.verify("nobody", GOOD) is None


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short1A!", "too short"),
        ("password1234", "attackers try first"),
        ("Sunshine2025!", "common password"),
        ("aaaaaaaaaaaaaaaa", "attackers try first"),
        ("danas-own-secret", "user's name"),
    ],
)
def test_weak_passwords_are_refused(engine: Engine, clock: Clock, password: str, why: str) -> None:
    with pytest.raises(UserError, match=why):
        store(engine, clock).add("dana", Role.STAFF, password, actor="cli:root")
    assert store(engine, clock).list() == []


def test_names_are_unique_and_checked(engine: Engine, clock: Clock) -> None:
    users = store(engine, clock)
    users.add("dana", Role.STAFF, GOOD, actor="cli:root")
    with pytest.raises(UserError, match="exists already"):
        users.add("DANA", Role.STAFF, GOOD, actor="cli:root")
    with pytest.raises(UserError, match="user name"):
        users.add("bad name!", Role.STAFF, GOOD, actor="cli:root")


def test_reset_and_remove_end_the_users_sessions(engine: Engine, clock: Clock) -> None:
    users, sessions = store(engine, clock), SessionStore(engine, clock=clock)
    dana = users.add("dana", Role.MANAGER, GOOD, actor="cli:root")
    lee = users.add("lee", Role.STAFF, GOOD, actor="cli:root")
    dana_cookie = sessions.open(user_id=dana.id, actor="dana", role=dana.role)
    lee_cookie = sessions.open(user_id=lee.id, actor="lee", role=lee.role)
    assert sessions.read(dana_cookie, shared_stamp="") is not None

    users.reset("dana", "another-Long-phrase-9", actor="cli:root", role=Role.STAFF)
    assert sessions.read(dana_cookie, shared_stamp="") is None
    assert users.verify("dana", GOOD) is None
    assert users.verify("dana", "another-Long-phrase-9") is not None
    assert sessions.read(lee_cookie, shared_stamp="") is not None  # others untouched

    users.remove("lee", actor="cli:root")
    assert sessions.read(lee_cookie, shared_stamp="") is None
    actions = [(e.actor, e.action, e.target) for e in AuditLog(engine).recent()]
    assert actions == [
        ("cli:root", "user.remove", "lee"),
        ("cli:root", "user.reset", "dana"),
        ("cli:root", "user.add", "lee"),
        ("cli:root", "user.add", "dana"),
    ]


def test_a_session_expires_and_a_changed_token_ends_operator_sessions(
    engine: Engine, clock: Clock
) -> None:
    sessions = SessionStore(engine, clock=clock)
    stamp = secret_stamp("the-old-token")
    cookie = sessions.open(user_id=None, actor="operator", role=Role.MANAGER, stamp=stamp)
    assert sessions.read(cookie, shared_stamp=stamp) is not None
    assert sessions.read(cookie, shared_stamp=secret_stamp("a-new-token")) is None
    clock.advance(12 * 3600)
    assert sessions.read(cookie, shared_stamp=stamp) is None
    assert sessions.read("forged", shared_stamp=stamp) is None
