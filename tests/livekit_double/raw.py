"""Raw HTTP calls to the double, for what the real client never sends (JSON, bad tokens)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from google.protobuf.message import Message
from livekit import api

from .double import LiveKitDouble


@dataclass
class RawReply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def admin_token(double: LiveKitDouble) -> str:
    return double.token(sip=api.SIPGrants(admin=True))


async def post(
    double: LiveKitDouble,
    path: str,
    body: Message | dict[str, Any] | bytes,
    *,
    token: str | None = None,
    content_type: str | None = None,
    method: str = "POST",
) -> RawReply:
    """POST ``body`` to ``/twirp/<path>``: a message as protobuf, a dict as JSON."""
    headers: dict[str, str] = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, Message):
        data, ctype = body.SerializeToString(), "application/protobuf"
    elif isinstance(body, dict):
        data, ctype = json.dumps(body).encode(), "application/json"
    else:
        data, ctype = body, "application/protobuf"
    headers["Content-Type"] = content_type or ctype
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{double.url}/twirp/{path}", data=data, headers=headers) as resp,
    ):
        return RawReply(resp.status, resp.headers.get("Content-Type", ""), await resp.read())
