"""Spacing out failed sign-ins, per account and per address, with growing delays.

Each key (`user:<name>`, `addr:<ip>`) has a count of attempts that did not succeed. The
first few are free; after that each attempt must wait `delay(failures)` after the last
one: 1 s, 2 s, 4 s ... doubling up to a minute. So 1,000 wrong passwords for one
account, or from one address, take more than 16 hours, while a person who mistypes
a few times waits seconds, and the right password works again at most a minute
after an attack stops. A success clears both keys; a key left alone for a day is
forgotten.

An attempt is admitted before its password is checked, by a conditional UPDATE that
also counts it and sets the next allowed time: the row count decides, so many
requests sent at once cannot all slip through between a check and a count (and the
expensive hash is not run for a refused attempt). Kept in the database, the counts
hold across replicas and restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..db.tables import signin_throttle


@dataclass(frozen=True, kw_only=True)
class ThrottleConfig:
    free_failures: int = 5
    first_delay: float = 1.0  # seconds, doubled per failure after the free ones
    max_delay: float = 60.0
    forget_after: timedelta = timedelta(days=1)

    def delay(self, failures: int) -> float:
        over = failures - self.free_failures
        if over <= 0:
            return 0.0
        return min(self.max_delay, self.first_delay * 2.0 ** min(over - 1, 30))


@dataclass(frozen=True)
class Refused:
    """Not admitted: try again after `retry_after` seconds."""

    retry_after: int


class SignInThrottle:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime],
        config: ThrottleConfig | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.config = config or ThrottleConfig()

    def admit(self, keys: Sequence[str]) -> Refused | None:
        """Count one attempt against every key, or refuse it (counting nothing more)."""
        now = self.clock()
        for key in keys:
            refused = self._admit_one(key[:200], now)
            if refused is not None:
                return refused
        return None

    def _admit_one(self, key: str, now: datetime) -> Refused | None:
        table = signin_throttle
        for _ in range(3):
            with self.engine.connect() as conn:
                row = conn.execute(select(table).where(table.c.key == key)).first()
                conn.rollback()
            if row is None:
                try:
                    with self.engine.begin() as conn:
                        # A new key is rare (a new address or name): forget old ones then,
                        # so names an attacker made up do not pile up.
                        conn.execute(
                            delete(table).where(table.c.last_at < now - self.config.forget_after)
                        )
                        conn.execute(
                            insert(table).values(
                                key=key, failures=1, blocked_until=now, last_at=now
                            )
                        )
                    return None
                except IntegrityError:
                    continue  # another attempt made the row first: read it
            if row.blocked_until > now:
                return Refused(max(1, int((row.blocked_until - now).total_seconds() + 0.999)))
            stale = now - row.last_at >= self.config.forget_after
            failures = 1 if stale else row.failures + 1
            # The wait before the *next* attempt, set as this one is let through.
            blocked_until = now + timedelta(seconds=self.config.delay(failures))
            with self.engine.begin() as conn:
                won = conn.execute(
                    update(table)
                    .where(
                        table.c.key == key,
                        table.c.failures == row.failures,
                        table.c.blocked_until == row.blocked_until,
                    )
                    .values(failures=failures, blocked_until=blocked_until, last_at=now)
                ).rowcount
            if won == 1:
                return None
        return Refused(1)  # lost the race three times: someone else is trying right now

    def clear(self, keys: Sequence[str]) -> None:
        """A success: these keys start afresh."""
        with self.engine.begin() as conn:
            conn.execute(delete(signin_throttle).where(signin_throttle.c.key.in_(keys)))
