"""Call records (`GET /v1/calls`, `GET /v1/calls/{id}`) and LiveKit's webhook.

The records routes take the operator's bearer token like every other `/v1` route.
`POST /v1/livekit/webhook` cannot: LiveKit signs its webhooks with the API key and
secret instead (a JWT in `Authorization` whose `sha256` claim is the body's hash),
checked with livekit-api's `WebhookReceiver`; an unsigned, expired, wrongly signed or
tampered request gets 401 and changes nothing. It is therefore its own router
(`livekit_router`), included as it is rather than merged with the operator's routes.

The webhook closes what no agent could: `participant_left` of a SIP caller with no
record at all means the caller hung up before any agent answered (an `abandoned`
record is written); `room_finished` shortens the lease of records still open in that
room to a short grace, after which the reaper (`reap`, run by the server's lifespan)
closes them as `worker_lost` unless their agent closes them first; for a campaign
attempt's room it also brings the attempt's outcome deadline forward, so an attempt
whose agent died is settled from what the server knows a minute later.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from ..campaigns.store.deadlines import ROOM_FINISHED_GRACE as ATTEMPT_ROOM_GRACE
from ..records.models import CallOutcome, CallRecord, Direction
from ..records.store import BadCursor, CallFilter, CallStart
from ..wire import ROOM_PREFIX
from .auth import Authorization, require_token
from .services import AppServices, Services
from .views import Cursor, Id, Page

logger = logging.getLogger("dialtone.records.api")

ROOM_FINISHED_GRACE = timedelta(seconds=15)
_SIP_KIND = 3  # livekit.protocol.models.ParticipantInfo.Kind.SIP

router = APIRouter(dependencies=[Depends(require_token)])
livekit_router = APIRouter()


class CallPage(Page[CallRecord]):
    """Call records, newest first; transcripts omitted."""


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise HTTPException(422, f"{name}: give a time zone, e.g. 2026-06-10T15:00:00Z")
    return value.astimezone(UTC)


def reap(services: AppServices) -> int:
    """Close the records whose lease ran out; how many were closed."""
    closed = services.records.close_expired(services.clock())
    for record in closed:
        services.call_metrics.call_closed(record)
    return len(closed)


@router.get(
    "/v1/calls", response_model=CallPage, summary="Call records, newest first (keyset paged)"
)
def list_calls(
    services: Services,
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
    cursor: Cursor = None,
) -> CallPage:
    filters = CallFilter(direction, outcome, _utc(since, "from"), _utc(until, "to"))
    try:
        page, next_cursor = services.records.list(filters, limit=limit, cursor=cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    return CallPage(items=page, next_cursor=next_cursor)


@router.get(
    "/v1/calls/{record_id}",
    response_model=CallRecord,
    summary="One call record with its transcript",
)
def get_call(record_id: Id, services: Services) -> CallRecord:
    record = services.records.get(record_id)
    if record is None:
        raise HTTPException(404, f"no call record {record_id!r}")
    return record


@livekit_router.post(
    "/v1/livekit/webhook",
    summary="LiveKit webhook (signed by LiveKit with the API key and secret)",
    response_model=dict[str, str],
)
async def livekit_webhook(
    request: Request, services: Services, authorization: Authorization = None
) -> dict[str, str]:
    from livekit.api import TokenVerifier, WebhookReceiver

    settings = services.settings
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
    return await asyncio.to_thread(_handle, services, event)


def _handle(services: AppServices, event: Any) -> dict[str, str]:
    store, now, kind = services.records, services.clock(), event.event
    if kind == "room_finished" and event.room.name:
        room = event.room.name
        shortened = store.room_finished(room, now, ROOM_FINISHED_GRACE)
        reap(services)
        result = f"{shortened} open record(s) given a grace"
        if room.startswith(ROOM_PREFIX) and services.campaigns.room_finished(
            room.removeprefix(ROOM_PREFIX), now, ATTEMPT_ROOM_GRACE
        ):
            result += "; the attempt settles after its grace unless its report comes"
        return {"event": kind, "result": result}
    if kind == "participant_left" and event.participant.kind == _SIP_KIND:
        from livekit.protocol.models import DisconnectReason

        attrs = dict(event.participant.attributes)
        room = event.room.name or None
        outbound = bool(room and room.startswith(ROOM_PREFIX))
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
            services.call_metrics.call_closed(created)
        reap(services)
        return {"event": kind, "result": result}
    return {"event": kind, "result": "ignored"}
