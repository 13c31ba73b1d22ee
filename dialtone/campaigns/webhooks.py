"""Webhook delivery: signed POSTs from the outbox, retried with backoff until a 2xx.

Each request carries

    Content-Type: application/json
    Dialtone-Event: call.outcome | campaign.finished | message.created
    Dialtone-Event-Id: <the event id, also "id" in the body; de-duplicate on it>
    Dialtone-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

A receiver recomputes the HMAC over the exact bytes it received, compares in constant
time, and refuses a `t` more than 5 minutes from its own clock, so a captured request
cannot be replayed later (`verify_signature` does all three).

Before each try the URL's host is resolved and checked (`dialtone.netguard`): a
loopback, private, link-local or metadata address is refused unless allowed by
DIALTONE_WEBHOOK_ALLOW, and the POST goes to the address that was checked. Redirects
are never followed: a 3xx is a failed try. `t` is the time of this
delivery try, not of the event, so a retry hours later still verifies.

Delivery is at least once: a receiver that answered 2xx but whose answer was lost gets
the event again. Every replica may run a sender; a row is taken with a conditional
UPDATE that pushes its `next_at` past the request's time limit (a lease), so two senders
do not post the same row at once, and a sender killed mid-POST leaves the row to be
taken again when that lease ends. The secret (per campaign, else
DIALTONE_WEBHOOK_SECRET, which also signs `message.created`) is never logged; neither
is the body (it holds phone numbers).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select, update

from ..db.tables import webhook_outbox, webhook_secrets
from ..metrics import WEBHOOK_DELIVERIES
from ..netguard import (
    Allowed,
    DestinationRefused,
    Resolver,
    check_destination,
    pinned,
    system_resolver,
)
from .outbox import DeliveryStatus

logger = logging.getLogger("dialtone.webhooks")

SIGNATURE_HEADER = "Dialtone-Signature"
EVENT_HEADER = "Dialtone-Event"
EVENT_ID_HEADER = "Dialtone-Event-Id"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Dialtone-Signature` header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver runs: the right secret, these exact bytes, sent within `tolerance`."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))


@dataclass(frozen=True)
class WebhookConfig:
    poll_seconds: float = 1.0
    timeout: float = 10.0  # seconds per POST
    batch: int = 50
    max_tries: int = 15  # 10 s doubling, capped at 1 h: about 6.4 hours in all
    backoff: float = 10.0
    backoff_max: float = 3600.0

    def delay(self, tries: int, rng: random.Random) -> float:
        """Seconds before try `tries + 1`, jittered so a recovering receiver is not hammered."""
        base = min(self.backoff_max, self.backoff * 2.0 ** (tries - 1))
        return base * (0.8 + 0.4 * rng.random())


@dataclass(frozen=True)
class _Due:
    id: int
    event_id: str
    type: str
    url: str
    payload: str
    attempts: int
    secret: str | None


class WebhookSender:
    """Posts due outbox rows; `run` loops, `deliver_due` is one pass (tests call it)."""

    def __init__(
        self,
        engine: Engine,
        default_secret: str,
        *,
        config: WebhookConfig | None = None,
        clock: Callable[[], datetime],
        client: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        allowed: Allowed | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.engine = engine
        self._default_secret = default_secret
        self.config = config or WebhookConfig()
        self.clock = clock
        self._client = client
        self._rng = rng or random.Random()
        self._allowed = allowed or Allowed()
        self._resolver = resolver

    def _take_due(self, now: datetime) -> list[_Due]:
        """Lease due rows: `next_at` moves past this try's time limit, one taker wins."""
        lease_until = now + timedelta(seconds=2 * self.config.timeout + 5)
        with self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    select(webhook_outbox, webhook_secrets.c.secret)
                    .outerjoin(
                        webhook_secrets,
                        webhook_secrets.c.campaign_id == webhook_outbox.c.campaign_id,
                    )
                    .where(
                        webhook_outbox.c.status == DeliveryStatus.PENDING,
                        webhook_outbox.c.next_at <= now,
                    )
                    .order_by(webhook_outbox.c.next_at, webhook_outbox.c.id)
                    .limit(self.config.batch)
                )
            )
            conn.rollback()
        taken: list[_Due] = []
        for r in rows:
            with self.engine.begin() as conn:
                won = conn.execute(
                    update(webhook_outbox)
                    .where(
                        webhook_outbox.c.id == r.id,
                        webhook_outbox.c.status == DeliveryStatus.PENDING,
                        webhook_outbox.c.next_at == r.next_at,
                    )
                    .values(next_at=lease_until)
                ).rowcount
            if won == 1:
                taken.append(_Due(r.id, r.event_id, r.type, r.url, r.payload, r.attempts, r.secret))
        return taken

    def _settle(self, due: _Due, error: str | None, now: datetime) -> str:
        tries = due.attempts + 1
        values: dict[str, Any] = {"attempts": tries}
        if error is None:
            result = "delivered"
            values.update(status=DeliveryStatus.DELIVERED, delivered_at=now, last_error=None)
        elif tries >= self.config.max_tries:
            result = "dead"
            values.update(status=DeliveryStatus.DEAD, last_error=error[:500])
        else:
            result = "failed"
            delay = self.config.delay(tries, self._rng)
            values.update(next_at=now + timedelta(seconds=delay), last_error=error[:500])
        with self.engine.begin() as conn:
            conn.execute(
                update(webhook_outbox)
                .where(
                    webhook_outbox.c.id == due.id,
                    webhook_outbox.c.status == DeliveryStatus.PENDING,
                )
                .values(**values)
            )
        WEBHOOK_DELIVERIES.labels(result).inc()
        if result != "delivered":
            logger.warning(
                "webhook %s (%s) try %d %s: %s", due.event_id, due.type, tries, result, error
            )
        return result

    async def _post(self, client: httpx.AsyncClient, due: _Due) -> str | None:
        """None on a 2xx, else why it failed (status or error class; never the body)."""
        secret = due.secret or self._default_secret
        if not secret:
            return "no webhook secret: set DIALTONE_WEBHOOK_SECRET (nothing is sent unsigned)"
        body = due.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "dialtone-webhooks/1",
            EVENT_HEADER: due.type,
            EVENT_ID_HEADER: due.event_id,
            SIGNATURE_HEADER: sign(secret, body, int(self.clock().timestamp())),
        }
        try:
            addresses = await asyncio.to_thread(
                check_destination,
                due.url,
                self._allowed,
                resolver=self._resolver,
                must_resolve=True,
            )
        except DestinationRefused as exc:
            return f"refused: {exc}"
        url, extensions = due.url, {}
        if addresses:
            # Send to the address just checked, not to a second lookup's answer.
            url, headers["Host"], name = pinned(due.url, addresses[0])
            if url.startswith("https:"):
                extensions["sni_hostname"] = name
        try:
            response = await client.post(url, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    async def deliver_due(self) -> dict[str, int]:
        """Post every due event once; returns how many ended delivered / failed / dead."""
        due = await asyncio.to_thread(self._take_due, self.clock())
        counts = {"delivered": 0, "failed": 0, "dead": 0}
        if not due:
            return counts
        client = self._client or httpx.AsyncClient(
            timeout=self.config.timeout, follow_redirects=False
        )
        try:
            errors = await asyncio.gather(*(self._post(client, d) for d in due))
        finally:
            if self._client is None:
                await client.aclose()
        for d, error in zip(due, errors, strict=True):
            counts[await asyncio.to_thread(self._settle, d, error, self.clock())] += 1
        return counts

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:
                logger.exception("webhook delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.poll_seconds)
