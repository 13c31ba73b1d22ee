"""Failed sign-ins are spaced out per key, and the right person gets in afterwards."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from dialtone.accounts.throttle import Refused, SignInThrottle, ThrottleConfig

from .conftest import Clock

KEYS = ["addr:203.0.113.9", "user:dana"]


def test_a_thousand_wrong_sign_ins_take_more_than_ten_minutes(engine: Engine, clock: Clock) -> None:
    throttle = SignInThrottle(engine, clock=clock)
    start = clock.now
    tried = refused = 0
    while tried < 1000:  # an attacker who retries the moment it is allowed, every time
        answer = throttle.admit(KEYS)
        if isinstance(answer, Refused):
            refused += 1
            clock.advance(answer.retry_after)
            continue
        tried += 1  # admitted, and the password was wrong: nothing clears the keys
    took = clock.now - start
    assert took >= timedelta(minutes=10), took
    assert refused >= 990  # every attempt after the first few had to wait

    # The attack stops; the right person signs in at most a minute later.
    assert isinstance(throttle.admit(KEYS), Refused)
    clock.advance(ThrottleConfig().max_delay)
    assert throttle.admit(KEYS) is None
    throttle.clear(KEYS)  # their password was right
    for _ in range(ThrottleConfig().free_failures):
        assert throttle.admit(KEYS) is None  # a few typos cost nothing again


def test_the_address_is_throttled_across_accounts(engine: Engine, clock: Clock) -> None:
    throttle = SignInThrottle(engine, clock=clock)
    admitted = 0
    for n in range(50):  # one address, a new account name each time
        if throttle.admit(["addr:198.51.100.7", f"user:name{n}"]) is None:
            admitted += 1
    assert admitted == ThrottleConfig().free_failures + 1


def test_the_account_is_throttled_across_addresses(engine: Engine, clock: Clock) -> None:
    throttle = SignInThrottle(engine, clock=clock)
    admitted = sum(throttle.admit([f"addr:198.51.100.{n}", "user:dana"]) is None for n in range(50))
    # The per-address keys were each admitted, but only the account's first few were.
    assert admitted == ThrottleConfig().free_failures + 1


def test_delays_grow_and_are_capped() -> None:
    config = ThrottleConfig()
    delays = [config.delay(n) for n in range(1, 20)]
    assert delays[: config.free_failures] == [0.0] * config.free_failures
    assert delays[config.free_failures : config.free_failures + 4] == [1.0, 2.0, 4.0, 8.0]
    assert max(delays) == config.max_delay and delays == sorted(delays)


def test_a_key_left_alone_for_a_day_is_forgotten(engine: Engine, clock: Clock) -> None:
    throttle = SignInThrottle(engine, clock=clock)
    for _ in range(8):
        throttle.admit(KEYS)
        clock.advance(120)
    clock.advance(24 * 3600)
    for _ in range(ThrottleConfig().free_failures):
        assert throttle.admit(KEYS) is None


def test_keys_left_alone_for_a_day_are_deleted_when_a_new_one_comes(
    engine: Engine, clock: Clock
) -> None:
    from sqlalchemy import func, select

    from dialtone.db.tables import signin_throttle

    throttle = SignInThrottle(engine, clock=clock)
    for n in range(20):
        throttle.admit([f"addr:198.51.100.{n}", f"user:made-up-{n}"])
    clock.advance(24 * 3600 + 1)
    throttle.admit(["addr:203.0.113.1", "user:dana"])
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(signin_throttle)) == 2
