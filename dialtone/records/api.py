"""The call records API and LiveKit's webhook, as a router the campaign app includes.

`GET /v1/calls` and `GET /v1/calls/{id}` take the operator's bearer token like every
other `/v1` route. `POST /v1/livekit/webhook` cannot: LiveKit signs its webhooks with
the API key and secret instead (a JWT in `Authorization` whose `sha256` claim is the
body's hash), checked here with livekit-api's `WebhookReceiver`; an unsigned, expired,
wrongly signed or tampered request gets 401 and changes nothing.

The webhook closes what no agent could: `participant_left` of a SIP caller with no
record at all means the caller hung up before any agent answered (an `abandoned`
record is written); `room_finished` shortens the lease of records still open in that
room to a short grace, after which the reaper (this router's lifespan task, every
`reap_every` seconds) closes them as `worker_lost` unless their agent closes them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query, Request
from fastapi.params import Depends
from pydantic import BaseModel, Field

from ..config import Settings
from ..wire import ROOM_PREFIX
from .metrics import CallMetrics, default_metrics
from .models import CallOutcome, CallRecord, Direction
from .store import BadCursor, CallFilter, CallStart, RecordStore

logger = logging.getLogger("dialtone.records.api")

ROOM_FINISHED_GRACE = timedelta(seconds=15)
REAP_EVERY = 15.0
_SIP_KIND = 3  # livekit.protocol.models.ParticipantInfo.Kind.SIP


class CallPage(BaseModel):
    calls: list[CallRecord] = Field(description="Newest first; transcripts omitted")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page"
    )
    limit: int


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise HTTPException(422, f"{name}: give a time zone, e.g. 2026-06-10T15:00:00Z")
    return value.astimezone(UTC)


def build_router(
    settings: Settings,
    store: RecordStore,
    *,
    dependencies: Sequence[Depends],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    metrics: CallMetrics | None = None,
    reap_every: float = REAP_EVERY,
) -> APIRouter:
    """The records routes over `store`; `dependencies` is the app's bearer-token check."""
    counted = metrics or default_metrics()

    def reap() -> int:
        closed = store.close_expired(clock())
        for record in closed:
            counted.call_closed(record)
        return len(closed)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async def loop() -> None:
            while True:
                try:
                    await asyncio.to_thread(reap)
                except Exception:
                    logger.exception("closing expired call records failed")
                await asyncio.sleep(reap_every)

        task = asyncio.create_task(loop(), name="call-record-reaper")
        try:
            yield {}
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    router = APIRouter(lifespan=lifespan)

    @router.get(
        "/v1/calls",
        dependencies=list(dependencies),
        response_model=CallPage,
        summary="Call records, newest first (keyset paged)",
    )
    def list_calls(
        direction: Direction | None = None,
        outcome: CallOutcome | None = None,
        since: Annotated[
            datetime | None,
            Query(alias="from", description="Calls started at or after (ISO 8601, with zone)"),
        ] = None,
        until: Annotated[
            datetime | None,
            Query(alias="to", description="Calls started before (ISO 8601, with zone)"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> CallPage:
        filters = CallFilter(direction, outcome, _utc(since, "from"), _utc(until, "to"))
        try:
            page, next_cursor = store.list(filters, limit=limit, cursor=cursor)
        except BadCursor as exc:
            raise HTTPException(400, str(exc)) from None
        return CallPage(calls=page, next_cursor=next_cursor, limit=limit)

    @router.get(
        "/v1/calls/{record_id}",
        dependencies=list(dependencies),
        response_model=CallRecord,
        summary="One call record with its transcript",
    )
    def get_call(record_id: str) -> CallRecord:
        record = store.get(record_id)
        if record is None:
            raise HTTPException(404, f"no call record {record_id!r}")
        return record

    @router.post(
        "/v1/livekit/webhook",
        summary="LiveKit webhook (signed by LiveKit with the API key and secret)",
        response_model=dict[str, str],
    )
    async def livekit_webhook(
        request: Request,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> dict[str, str]:
        from livekit.api import TokenVerifier, WebhookReceiver

        secret = settings.livekit_api_secret.get_secret_value()
        if not (settings.livekit_api_key and secret):
            raise HTTPException(
                503, "LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set to verify webhooks"
            )
        if not authorization:
            raise HTTPException(401, "unsigned webhook: no Authorization header")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            body = (await request.body()).decode("utf-8")
            event = WebhookReceiver(TokenVerifier(settings.livekit_api_key, secret)).receive(
                body, token
            )
        except Exception:
            # Which check failed is logged, never the token.
            logger.warning("refused a LiveKit webhook with a bad signature or body hash")
            raise HTTPException(401, "webhook signature or body hash does not verify") from None
        return await asyncio.to_thread(_handle, event)

    def _handle(event: Any) -> dict[str, str]:
        now = clock()
        kind = event.event
        if kind == "room_finished" and event.room.name:
            shortened = store.room_finished(event.room.name, now, ROOM_FINISHED_GRACE)
            reap()
            return {"event": kind, "result": f"{shortened} open record(s) given a grace"}
        if kind == "participant_left" and event.participant.kind == _SIP_KIND:
            attrs = dict(event.participant.attributes)
            room = event.room.name or None
            outbound = bool(room and room.startswith(ROOM_PREFIX))
            from livekit.protocol.models import DisconnectReason

            reason = DisconnectReason.Name(event.participant.disconnect_reason).lower()
            start = CallStart(
                direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
                room=room,
                sip_call_id=attrs.get("sip.callID") or None,
                caller_number=attrs.get("sip.phoneNumber") or None,
                called_number=attrs.get("sip.trunkPhoneNumber") or None,
                trunk=attrs.get("sip.trunkID") or None,
            )
            # Outbound: the reminder agent opens its record before it dials, so a missing
            # one is not a call that was abandoned; only note when the callee left.
            result, created = store.caller_left(
                start, now, f"participant left: {reason}", create_if_missing=not outbound
            )
            if created is not None:
                counted.call_closed(created)
            reap()
            return {"event": kind, "result": result}
        return {"event": kind, "result": "ignored"}

    return router
