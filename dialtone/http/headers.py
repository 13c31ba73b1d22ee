"""Headers every response carries, and a guard on absurd byte ranges, as ASGI middleware.

- `X-Content-Type-Options: nosniff` on every response (JSON, CSV, audio, static files,
  errors), so a browser never runs an upload or a transcript it guessed was a script.
- `Strict-Transport-Security` when the request came over TLS (itself, or through a
  proxy trusted by DIALTONE_TRUST_FORWARDED_PROTO): once a browser has seen the console
  over https it will not be talked down to http.
- A `Range` header holding a number longer than 18 digits (beyond any file, and beyond
  what some parsers turn into an integer without failing) is answered 416 here, before
  any route or static-file handler sees it: never a 500 and a traceback.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from .limits import ASGIApp, Receive, Send

HSTS = b"max-age=31536000; includeSubDomains"
MAX_RANGE_DIGITS = 18
_LONG_NUMBER = re.compile(rb"\d{%d,}" % (MAX_RANGE_DIGITS + 1))


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, trust_forwarded_proto: bool) -> None:
        self.app = app
        self.trust_forwarded_proto = trust_forwarded_proto

    def _over_tls(self, scope: MutableMapping[str, Any]) -> bool:
        if scope.get("scheme") == "https":
            return True
        if not self.trust_forwarded_proto:
            return False
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-proto":
                return bool(value.split(b",")[0].strip().lower() == b"https")
        return False

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [(b"x-content-type-options", b"nosniff")]
        if self._over_tls(scope):
            extra.append((b"strict-transport-security", HSTS))
        for name, value in scope.get("headers", []):
            if name == b"range" and _LONG_NUMBER.search(value):
                await _unsatisfiable(send, extra)
                return

        async def with_headers(message: Any) -> None:
            if message.get("type") == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        *(h for h in extra if h[0] not in have),
                    ],
                }
            await send(message)

        await self.app(scope, receive, with_headers)


async def _unsatisfiable(send: Send, extra: list[tuple[bytes, bytes]]) -> None:
    body = b'{"detail":"Range: a number too large for any file","errors":[]}'
    await send(
        {
            "type": "http.response.start",
            "status": 416,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
