"""The HTTP side: Twirp routing, body encodings, auth, faults and recording; and the
worker endpoint (`/agent`, see workers.py).

Request pipeline, in the server's order where it has one: record -> injected
fault (an infrastructure blip happens before the server sees the request) ->
token verification (the server's auth middleware runs before Twirp routing) ->
route -> HTTP method / Content-Type -> decode -> grant check -> handler.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from . import auth
from .context import HandlerContext, Routes
from .errors import TwirpError
from .faults import Faults
from .records import CallRecord
from .room_service import DISPATCH_ROUTES, ROOM_ROUTES, ROOM_UNMODELLED
from .sip_script import SipScripts
from .sip_service import ROUTES as SIP_ROUTES
from .state import DoubleOptions, DoubleState
from .workers import Workers, serve_worker

log = logging.getLogger(__name__)

SERVICES: dict[str, Routes] = {
    "SIP": SIP_ROUTES,
    "AgentDispatchService": DISPATCH_ROUTES,
    "RoomService": ROOM_ROUTES,
}
UNMODELLED: dict[str, frozenset[str]] = {"RoomService": ROOM_UNMODELLED}

REQUEST_ID_HEADER = "X-Livekit-Request-Id"
JSON = "application/json"
PROTOBUF = "application/protobuf"


@dataclass
class Backend:
    """Everything the HTTP layer needs; owned by LiveKitDouble."""

    api_key: str
    api_secret: str
    options: DoubleOptions
    state: DoubleState = field(default_factory=DoubleState)
    sip: SipScripts = field(default_factory=SipScripts)
    faults: Faults = field(default_factory=Faults)
    calls: list[CallRecord] = field(default_factory=list)
    workers: Workers = field(default_factory=Workers)
    region_lookups: int = 0


class _Dropped(Exception):
    """The connection was closed on purpose; nothing is sent."""


def build_app(backend: Backend) -> web.Application:
    """The aiohttp application serving the three Twirp services."""

    async def twirp(request: web.Request) -> web.StreamResponse:
        full_service = request.match_info["service"]
        method = request.match_info["method"]
        service = full_service.removeprefix("livekit.")
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        body = await request.read()
        record = CallRecord(
            service=service,
            method=method,
            request=None,
            request_id=request.headers.get(REQUEST_ID_HEADER, ""),
            content_type=ctype,
        )
        backend.calls.append(record)
        try:
            plan = backend.faults.plan(method)
            if plan.delay > 0:
                await asyncio.sleep(plan.delay)
            if plan.drop:
                record.faulted = True
                raise _Dropped
            if plan.code is not None:
                record.faulted = True
                raise TwirpError(plan.code, plan.msg)
            grants = auth.authenticate(
                request.headers.get("Authorization"),
                backend.api_key,
                backend.api_secret,
                backend.options.auth_errors,
            )
            routes = SERVICES.get(service) if full_service.startswith("livekit.") else None
            invalid_route = {"twirp_invalid_route": f"{request.method} {request.path}"}
            if routes is None or (
                method not in routes and method not in UNMODELLED.get(service, ())
            ):
                raise TwirpError(
                    "bad_route", f"no handler for path {request.path!r}", invalid_route
                )
            if request.method != "POST":
                raise TwirpError(
                    "bad_route",
                    f'unsupported method "{request.method}" (only POST is allowed)',
                    invalid_route,
                )
            if ctype not in (JSON, PROTOBUF):
                raise TwirpError(
                    "bad_route",
                    f'unexpected Content-Type: "{request.headers.get("Content-Type", "")}"',
                    invalid_route,
                )
            if method not in routes:
                raise TwirpError("unimplemented", f"{method} is not modelled by the LiveKit double")
            req_cls, handler = routes[method]
            msg = _decode(req_cls, body, ctype)
            record.request = msg
            auth.authorize(service, method, msg, grants, backend.options.auth_errors)
            ctx = HandlerContext(backend.state, backend.options, backend.sip, record.request_id)
            reply = await handler(ctx, msg)
            record.status = 200
            return _encode(reply, ctype)
        except TwirpError as e:
            record.status, record.code = e.http_status, e.code
            return web.json_response(e.body(), status=e.http_status)
        except auth.PlainHTTPError as e:
            record.status, record.code = e.status, None
            return web.Response(status=e.status, text=e.text)
        except _Dropped:
            # Abort the socket; aiohttp's later attempt to write the (empty)
            # response then goes nowhere, and the client sees a disconnect.
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=204)
        except Exception as e:  # a bug in the double: answer like the server's 500
            log.exception("LiveKit double handler failed")
            record.status, record.code = 500, "internal"
            return web.json_response(
                {"code": "internal", "msg": f"double error: {e!r}"}, status=500
            )

    async def regions(request: web.Request) -> web.StreamResponse:
        # The client asks for regions before retrying; 404 = "no other region".
        backend.region_lookups += 1
        return web.Response(status=404, text="404 page not found")

    async def worker(request: web.Request) -> web.StreamResponse:
        return await serve_worker(
            request,
            api_key=backend.api_key,
            api_secret=backend.api_secret,
            workers=backend.workers,
        )

    app = web.Application()
    app.router.add_route("*", "/twirp/{service}/{method}", twirp)
    app.router.add_get("/agent", worker)
    app.router.add_get("/settings/regions", regions)
    return app


def _decode(cls: type[Message], body: bytes, ctype: str) -> Message:
    msg = cls()
    try:
        if ctype == JSON:
            json_format.Parse(body.decode("utf-8") or "{}", msg, ignore_unknown_fields=True)
        else:
            msg.ParseFromString(body)
    except (json_format.ParseError, DecodeError, UnicodeDecodeError, json.JSONDecodeError) as e:
        kind = "json" if ctype == JSON else "protobuf"
        raise TwirpError("malformed", f"the {kind} request could not be decoded: {e}") from e
    return msg


def _encode(reply: Message, ctype: str) -> web.Response:
    if ctype == JSON:
        text = json_format.MessageToJson(
            reply, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        return web.Response(body=text.encode(), content_type=JSON)
    return web.Response(body=reply.SerializeToString(), content_type=PROTOBUF)
