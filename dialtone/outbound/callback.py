"""The reminder agent's calls to the campaign API, with the attempt's own token.

`POST /v1/attempts/{id}/dial` asks for the dial permit right before dialing, naming
this job; `POST /v1/attempts/{id}/opt-out` lists the callee as do-not-call the moment
they ask; `POST /v1/attempts/{id}/outcome` reports how the call ended. All are retried
with backoff on transport errors, 429 and 5xx:

- the permit a few times (it is one short transaction on the server): repeating it is
  safe because the permit is bound to this job, so a retry after a lost answer is
  allowed again, while any other job (a second agent in the room) is refused. Its
  answer may say to wait `dial_in` seconds: the trunk's calls per second, shared by
  every replica, paces the dials themselves, so dials bunched by an outage do not
  leave together; an agent that would dial too late after its slot asks again for a
  fresh one (`campaigns.pace`);
- the opt-out and the outcome until the attempt's deadline (`report_by`, from the
  permit's answer): what the callee said is kept until the server has it. Repeating
  either is safe: the store records an outcome once, and a listed number stays listed.
  After the deadline the server settles the attempt from what it knows.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ..campaigns.models import Outcome

logger = logging.getLogger("dialtone.reminder")

Clock = Callable[[], datetime]


#: The server's `dial_at` is believed only when it agrees with `dial_in` this closely
#: (seconds): hosts on NTP agree within milliseconds; one that is off by more would dial
#: early, or think every slot missed.
CLOCKS_AGREE_WITHIN = 1.0

#: The longest the agent waits for its dial slot (the callee's phone is not ringing yet).
MAX_DIAL_WAIT = 30.0


class CallbackError(Exception):
    """The API refused the request for good (bad token, unknown attempt, conflict)."""


@dataclass(frozen=True)
class Permit:
    allowed: bool
    reason: str | None = None
    report_by: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    tries: int = 6  # the permit's tries; reports go on until `report_by`
    backoff: float = 0.5
    backoff_max: float = 15.0
    timeout: float = 10.0
    #: how long a report keeps trying when no permit said until when (a report sent
    #: before dialling, say): the server's own deadline is at least this far
    report_window: timedelta = timedelta(minutes=5)


def utc_now() -> datetime:
    return datetime.now(UTC)


class CampaignCallback:
    """The API, as one attempt sees it."""

    def __init__(
        self,
        base_url: str,
        attempt_id: str,
        token: str,
        *,
        job_id: str | None = None,
        client: httpx.AsyncClient | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock = utc_now,
    ) -> None:
        self._base = base_url.rstrip("/")
        self.attempt_id = attempt_id
        self.job_id = job_id
        self._token = token
        self._client = client
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        #: until when reports are retried: the permit's `report_by`, once known
        self.report_by: datetime | None = None

    def __repr__(self) -> str:  # never the token
        return f"CampaignCallback({self._base!r}, {self.attempt_id!r})"

    async def dial_permit(self) -> Permit:
        """The permit, and once allowed, the moment to dial: its slot on the trunk's pace.

        The slot comes twice: `dial_in`, counted from when this agent heard the answer
        (late by the answer's way back), and `dial_at` on the server's clock (exact when
        both clocks keep NTP time; ignored when the two disagree by more than
        `CLOCKS_AGREE_WITHIN`). The agent waits for the later of the two and counts its
        lateness from the earlier. Waking more than `dial_late_max` after the slot
        (a slow answer, a stalled event loop), it asks again: the permit is bound to
        this job, so it is allowed again with a fresh slot, and a late dial never lands
        on top of the dials sent on time. After `tries` fresh slots all missed it dials
        anyway, and says so.
        """
        fresh = 0
        while True:
            body = await self._post("dial", {"job_id": self.job_id}, until=None)
            heard = self._clock()
            within = body.get("report_within")
            report_by = None if within is None else heard + timedelta(seconds=float(within))
            permit = Permit(bool(body.get("allowed")), body.get("reason"), report_by)
            if not permit.allowed:
                return permit
            if report_by is not None:
                self.report_by = report_by  # on this agent's clock: no skew with the server
            slot = _slot(body, heard)
            wait = min((max(slot) - self._clock()).total_seconds(), MAX_DIAL_WAIT)
            if wait > 0:
                await self._sleep(wait)  # the trunk's shared pace: dial at our slot
            late_max = body.get("dial_late_max")
            late = (self._clock() - min(slot)).total_seconds()
            if late_max is None or late <= float(late_max):
                return permit
            if self.job_id is None:  # an agent naming no job would be refused a repeat
                logger.warning(
                    "attempt %s: dialling %.2f s after its slot (no job id to ask again)",
                    self.attempt_id,
                    late,
                )
                return permit
            if fresh >= self.policy.tries:
                logger.warning(
                    "attempt %s: dialling %.2f s after its slot, %d fresh slots missed: the "
                    "trunk's calls per second may be exceeded",
                    self.attempt_id,
                    late,
                    fresh,
                )
                return permit
            fresh += 1
            logger.info(
                "attempt %s: %.2f s late for its dial slot; asking for a fresh one",
                self.attempt_id,
                late,
            )

    def _until(self) -> datetime:
        return self.report_by or self._clock() + self.policy.report_window

    async def opt_out(self, evidence: str = "") -> bool:
        """List the callee as do-not-call now, with what they said or pressed; retried
        until the attempt's deadline."""
        body = await self._post("opt-out", {"evidence": evidence[:500]}, until=self._until())
        return bool(body.get("listed"))

    async def report(
        self,
        outcome: Outcome,
        detail: str,
        pause_reason: str | None = None,
        abandoned: bool | None = None,
    ) -> bool:
        """Report the outcome; True if the API recorded it (or had it already)."""
        payload: dict[str, Any] = {"outcome": outcome.value, "detail": detail[:2000]}
        if abandoned is not None:
            payload["abandoned"] = abandoned
        if pause_reason is not None:
            payload["pause_reason"] = pause_reason[:2000]
        await self._post("outcome", payload, until=self._until())
        return True

    async def _post(
        self, what: str, payload: dict[str, Any] | None, *, until: datetime | None
    ) -> dict[str, Any]:
        """POST with retries: `tries` of them, or, with `until`, as many as fit before it."""
        url = f"{self._base}/v1/attempts/{self.attempt_id}/{what}"
        headers = {"Authorization": f"Bearer {self._token}"}
        last = ""
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1:
                if until is None and attempt > self.policy.tries:
                    raise CallbackError(f"{what} failed after {self.policy.tries} tries: {last}")
                step = min(self.policy.backoff_max, self.policy.backoff * 2 ** (attempt - 2))
                delay = step * (0.8 + 0.4 * random.random())
                if until is not None and self._clock() + timedelta(seconds=delay) >= until:
                    raise CallbackError(
                        f"{what} failed after {attempt - 1} tries, until the attempt's "
                        f"deadline: {last}"
                    )
                await self._sleep(delay)
            try:
                if self._client is not None:
                    response = await self._client.post(
                        url, json=payload, headers=headers, timeout=self.policy.timeout
                    )
                else:
                    async with httpx.AsyncClient(timeout=self.policy.timeout) as client:
                        response = await client.post(url, json=payload, headers=headers)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
                logger.warning(
                    "attempt %s: %s try %d failed: %s", self.attempt_id, what, attempt, last
                )
                continue
            if response.status_code == 200:
                data = response.json()
                return data if isinstance(data, dict) else {}
            last = f"HTTP {response.status_code}: {_detail(response)}"
            if response.status_code == 429 or response.status_code >= 500:
                logger.warning("attempt %s: %s try %d: %s", self.attempt_id, what, attempt, last)
                continue
            raise CallbackError(f"{what} refused: {last}")


def _slot(body: dict[str, Any], heard: datetime) -> tuple[datetime, datetime]:
    """The dial slot as the answer `body` heard at `heard` names it: by `dial_in` on
    this agent's clock, and by `dial_at` on the server's (the first again without it)."""
    by_wait = heard + timedelta(seconds=float(body.get("dial_in") or 0.0))
    raw = body.get("dial_at")
    if not raw:
        return by_wait, by_wait
    try:
        at = datetime.fromisoformat(str(raw))
    except ValueError:
        return by_wait, by_wait
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if abs((at - by_wait).total_seconds()) > CLOCKS_AGREE_WITHIN:
        return by_wait, by_wait  # the clocks disagree: this host's is not on NTP time
    return by_wait, at


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail", ""))[:200]
    return ""
