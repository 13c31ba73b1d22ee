"""The reminder agent's two calls to the campaign API, with the attempt's own token.

`POST /v1/attempts/{id}/dial` asks for the single-use dial permit right before dialing;
`POST /v1/attempts/{id}/outcome` reports how the call ended. Both are retried with
backoff on transport errors, 429 and 5xx, because an agent that cannot report leaves
its contact waiting for the store's deadline (`expire_unreported`). Repeating a report
is safe: the store records the same outcome once. Repeating a permit request is safe
too, in the careful direction: if the first request landed and its answer was lost,
the retry is refused ("already dialled") and no call is placed; the attempt then ends
`unknown` at the deadline and the retry policy calls again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ..campaigns.models import Outcome

logger = logging.getLogger("dialtone.reminder")


class CallbackError(Exception):
    """The API refused the request for good (bad token, unknown attempt, conflict)."""


@dataclass(frozen=True)
class Permit:
    allowed: bool
    reason: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    tries: int = 6
    backoff: float = 0.5
    backoff_max: float = 15.0
    timeout: float = 10.0


class CampaignCallback:
    """The API, as one attempt sees it."""

    def __init__(
        self,
        base_url: str,
        attempt_id: str,
        token: str,
        *,
        client: httpx.AsyncClient | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self.attempt_id = attempt_id
        self._token = token
        self._client = client
        self.policy = policy or RetryPolicy()
        self._sleep = sleep

    def __repr__(self) -> str:  # never the token
        return f"CampaignCallback({self._base!r}, {self.attempt_id!r})"

    async def dial_permit(self) -> Permit:
        body = await self._post("dial", None)
        return Permit(bool(body.get("allowed")), body.get("reason"))

    async def report(self, outcome: Outcome, detail: str, pause_reason: str | None = None) -> bool:
        """Report the outcome; True if the API recorded it (or had it already)."""
        payload: dict[str, Any] = {"outcome": outcome.value, "detail": detail[:2000]}
        if pause_reason is not None:
            payload["pause_reason"] = pause_reason[:2000]
        await self._post("outcome", payload)
        return True

    async def _post(self, what: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        url = f"{self._base}/v1/attempts/{self.attempt_id}/{what}"
        headers = {"Authorization": f"Bearer {self._token}"}
        last = ""
        for attempt in range(1, self.policy.tries + 1):
            if attempt > 1:
                delay = min(self.policy.backoff_max, self.policy.backoff * 2 ** (attempt - 2))
                await self._sleep(delay * (0.8 + 0.4 * random.random()))
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
        raise CallbackError(f"{what} failed after {self.policy.tries} tries: {last}")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail", ""))[:200]
    return ""
