"""The campaign HTTP API (FastAPI): `create_app(settings, engine)`.

Every `/v1` route needs `Authorization: Bearer <DIALTONE_API_TOKEN>` (compared in
constant time), and so does `/openapi.json`. The two routes the reminder agent calls
(`/v1/attempts/{id}/dial|outcome`) take that attempt's own callback token instead: an
agent never holds the operator's token. Creates honour `Idempotency-Key`; bodies are
limited in size; a campaign with any bad row is refused whole, with every problem listed
as `{row, field, reason}`. `/metrics` (Prometheus) takes DIALTONE_METRICS_TOKEN or the
API token: call volumes are the operator's business data, and the scraper should not
hold a token that can place calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import re
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    MutableMapping,
)
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from starlette.datastructures import UploadFile

from ..config import ConfigError, Settings
from ..metrics import registry_with, render
from ..records.api import build_router as build_records_router
from ..records.job import retention_of
from ..records.metrics import OpenRecordsCollector
from ..records.store import RecordStore
from ..wire import normalize_phone
from .csvio import read_contacts_csv, render_results
from .dialer import Dialer, DialerConfig, livekit_session
from .metrics import CampaignStoreCollector
from .migrations import migrate
from .models import (
    NO_CONTACTS,
    CampaignCreate,
    CampaignSettings,
    ContactChecker,
    ContactIn,
    DestinationPolicy,
    Outcome,
    RowError,
    SpecError,
    parse_settings,
    strip_value_error,
)
from .scheduler import Clock, Scheduler, SchedulerConfig, utc_now
from .store import (
    AttemptRow,
    BadToken,
    CampaignStore,
    IdempotencyMismatch,
    NotFound,
    Progress,
    StoreError,
)
from .webhooks import WebhookConfig, WebhookSender

logger = logging.getLogger("dialtone.api")

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_IDEMPOTENCY_KEY = 255
MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 512
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse bodies over `limit` bytes with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Callable[[Any], Awaitable[None]]) -> None:
        body = json.dumps(
            {"detail": f"request body larger than {self.limit} bytes", "errors": []}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# --- response models ------------------------------------------------------------------


class CampaignView(BaseModel):
    id: str
    kind: str
    name: str
    status: str
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    settings: CampaignSettings
    contacts: dict[str, int] = Field(description="Contacts per state, and `total`")
    attempts: int = Field(description="Calls placed or in progress")
    outcomes: dict[str, int]
    calls_today: int


class CallView(BaseModel):
    id: str
    contact_id: int
    phone: str
    number: int
    room: str
    status: str
    outcome: str | None
    detail: str | None
    created_at: datetime
    dispatched_at: datetime | None
    finished_at: datetime | None


class CallList(BaseModel):
    calls: list[CallView]
    limit: int
    offset: int


class DncAdd(BaseModel):
    phones: list[str] = Field(min_length=1, max_length=10_000)
    reason: str = Field("added through the API", max_length=500)


class DncEntry(BaseModel):
    phone: str
    reason: str
    created_at: datetime


class DialPermit(BaseModel):
    allowed: bool
    reason: str | None = None


class OutcomeReport(BaseModel):
    outcome: Outcome
    detail: str = Field("", max_length=2000)
    pause_reason: str | None = Field(
        None,
        max_length=2000,
        description="Set by the reminder agent for a trunk, auth or codec failure that every "
        "call would hit: the campaign pauses with this reason and the attempt does not count.",
    )


def _view(progress: Progress) -> CampaignView:
    c = progress.campaign
    counts = dict(progress.contacts)
    counts["total"] = c.contact_count
    return CampaignView(
        id=c.id,
        kind=c.kind,
        name=c.name,
        status=c.status.value,
        status_reason=c.status_reason,
        created_at=c.created_at,
        updated_at=c.updated_at,
        settings=c.settings,
        contacts=counts,
        attempts=progress.attempts,
        outcomes=progress.outcomes,
        calls_today=progress.calls_today,
    )


def _call_view(a: AttemptRow) -> CallView:
    return CallView(
        id=a.id,
        contact_id=a.contact_id,
        phone=a.phone,
        number=a.number,
        room=a.room,
        status=a.status,
        outcome=a.outcome,
        detail=a.detail,
        created_at=a.created_at,
        dispatched_at=a.dispatched_at,
        finished_at=a.finished_at,
    )


def _problems(errors: list[RowError], what: str) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={
            "detail": f"{what}: {len(errors)} problem(s); nothing was created",
            "errors": [e.as_dict() for e in errors],
        },
    )


def _settings_digest(settings: CampaignSettings, secret: str | None) -> str:
    """The part of an Idempotency-Key's request hash that is not the contacts."""
    canonical = json.dumps(
        {
            "settings": settings.model_dump(mode="json"),
            "webhook_secret": hashlib.sha256(secret.encode()).hexdigest() if secret else None,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return canonical


async def _json_object(request: Request) -> dict[str, Any] | JSONResponse:
    """The request body as a JSON object, or the 422 that says why it is not one."""
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _problems([RowError(None, "(body)", f"not JSON: {exc}")], "invalid body")
    if not isinstance(body, dict):
        return _problems([RowError(None, "(body)", "expected an object")], "invalid body")
    return body


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if len(key) > MAX_IDEMPOTENCY_KEY or not _KEY_CHARS.fullmatch(key):
        raise HTTPException(
            400, f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )
    return key


_CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CampaignCreate"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["campaign", "contacts"],
                    "properties": {
                        "campaign": {
                            "type": "string",
                            "description": "CampaignSettings as JSON (no contacts)",
                        },
                        "contacts": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV: phone (required), name, timezone; other "
                            "columns become variables. Row numbers in errors count the "
                            "header as row 1.",
                        },
                    },
                }
            },
        },
    }
}


def _secret_problems(raw: dict[str, Any], secret: Any, has_default: bool) -> list[RowError]:
    """`webhook_secret` is taken out of the spec (never stored in it, never read back)."""
    url = raw.get("webhook_url")
    if secret is None:
        if url and not has_default:
            return [
                RowError(
                    None,
                    "webhook_secret",
                    "webhook_url needs a signing secret: give webhook_secret or set "
                    "DIALTONE_WEBHOOK_SECRET on the server",
                )
            ]
        return []
    if not isinstance(secret, str) or not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS:
        return [
            RowError(
                None,
                "webhook_secret",
                f"a string of {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters",
            )
        ]
    if not url:
        return [RowError(None, "webhook_secret", "given without a webhook_url")]
    return []


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def attempt_token(
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str:
    """The reminder agent's per-attempt callback token (checked by the store)."""
    given = bearer(authorization)
    if given is None:
        raise HTTPException(
            401, "the attempt's callback token is required", {"WWW-Authenticate": "Bearer"}
        )
    return given


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    clock: Clock = utc_now,
    run_scheduler: bool = False,
    scheduler_config: SchedulerConfig | None = None,
    dialer_config: DialerConfig | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    run_webhooks: bool = False,
    webhook_config: WebhookConfig | None = None,
) -> FastAPI:
    """The API over `engine` (migrated here). `run_scheduler` also dials, in-process;
    `run_webhooks` also delivers the webhook outbox (every replica may)."""
    token = settings.api_token.get_secret_value()
    if not token:
        raise ConfigError("DIALTONE_API_TOKEN is not set: the campaign API refuses to start open")
    default_secret = settings.webhook_secret.get_secret_value()
    if default_secret and len(default_secret) < MIN_SECRET_CHARS:
        raise ConfigError(f"DIALTONE_WEBHOOK_SECRET: at least {MIN_SECRET_CHARS} characters")
    metrics_token = settings.metrics_token.get_secret_value().encode()
    if run_scheduler:
        settings.require_livekit()
    expected = token.encode()
    migrate(engine)
    store = CampaignStore(engine)
    policy = DestinationPolicy(settings.country_codes)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if run_webhooks:
                sender = WebhookSender(engine, default_secret, config=webhook_config, clock=clock)
                app.state.webhooks = sender
                await stack.enter_async_context(_background(sender.run, "webhook-sender"))
            if run_scheduler:
                await stack.enter_async_context(_dialing(app))
            yield

    @contextlib.asynccontextmanager
    async def _dialing(app: FastAPI) -> AsyncIterator[None]:
        from livekit.api import LiveKitAPI

        session = livekit_session()
        lk = LiveKitAPI(
            settings.livekit_url,
            settings.livekit_api_key,
            settings.livekit_api_secret.get_secret_value(),
            session=session,
        )
        scheduler = Scheduler(
            store, Dialer(lk.agent_dispatch, dialer_config), scheduler_config, clock=clock
        )
        app.state.scheduler = scheduler
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop), name="campaign-scheduler")
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)
            await session.close()

    app = FastAPI(
        title="dialtone campaigns",
        version="1",
        description=__doc__,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    metrics_registry = registry_with(CampaignStoreCollector(engine), OpenRecordsCollector(engine))
    app.add_middleware(BodyLimit, limit=max_body_bytes)  # type: ignore[arg-type]

    def require_token(
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> None:
        given = bearer(authorization)
        if given is None or not hmac.compare_digest(given.encode(), expected):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    authed = [Depends(require_token)]
    app.include_router(  # call records and LiveKit's webhook (dialtone/records)
        build_records_router(
            settings, RecordStore(engine, retention_of(settings)), dependencies=authed, clock=clock
        )
    )

    @app.get("/metrics", include_in_schema=False)
    def metrics(
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Response:
        """Prometheus; the metrics token (or the API token) is required, see the README."""
        given = (bearer(authorization) or "").encode()
        ok = hmac.compare_digest(given, expected) or (
            bool(metrics_token) and hmac.compare_digest(given, metrics_token)
        )
        if not ok:
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        body, content_type = render(metrics_registry)
        return Response(body, media_type=content_type)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            RowError(
                None,
                ".".join(str(p) for p in e["loc"] if p != "body") or "(body)",
                strip_value_error(str(e["msg"])),
            )
            for e in exc.errors()
        ]
        return _problems(errors, "invalid request")

    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(StoreError)
    async def _conflict(_request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    def openapi_schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            body = CampaignCreate.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(body.pop("$defs", {}))
            components["CampaignCreate"] = body
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}
            }
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    @app.get("/openapi.json", include_in_schema=False, dependencies=authed)
    def openapi() -> dict[str, Any]:
        return openapi_schema()

    async def create(
        scope: str,
        key: str | None,
        raw: dict[str, Any],
        rows: Iterable[tuple[int, Any]],
        kind: str,
        errors: list[RowError],
    ) -> Response:
        """Validate and store while reading `rows` (a stream for CSV uploads).

        `errors` holds, and keeps receiving while `rows` is read, the file's own
        problems. Contacts go to the database in chunks inside one transaction; any
        problem found on the way rolls it back, so nothing is half-created, and every
        problem is reported at once.
        """
        secret = raw.pop("webhook_secret", None)
        errors.extend(_secret_problems(raw, secret, bool(default_secret)))
        spec = parse_settings(raw, errors)
        checker = ContactChecker(policy, errors)
        digest = hashlib.sha256()

        def valid() -> Iterator[tuple[int, ContactIn]]:
            for row, contact in checker.stream(rows):
                digest.update(contact.model_dump_json().encode() + b"\n")
                yield row, contact
            checker.finish()

        try:
            if spec is None:
                for _ in valid():
                    pass
                raise SpecError(errors)  # not reached: finish() raised
            digest.update(_settings_digest(spec, secret).encode())
            idem = (scope, key, digest.hexdigest) if key is not None else None
            campaign_id, replayed = await asyncio.to_thread(
                functools.partial(
                    store.create_campaign,
                    spec,
                    valid(),
                    clock(),
                    kind=kind,
                    idempotency=idem,
                    webhook_secret=secret,
                )
            )
        except SpecError as exc:
            found = exc.errors
            if len(found) > 1:  # "no contacts" only restates the file's own problem
                found = [e for e in found if e.reason != NO_CONTACTS]
            return _problems(found, "the campaign was not created")
        except IdempotencyMismatch as exc:
            return JSONResponse(status_code=422, content={"detail": str(exc), "errors": []})
        view = _view(await asyncio.to_thread(store.progress, campaign_id, clock()))
        headers = {"Location": f"/v1/campaigns/{campaign_id}"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(status_code=201, content=view.model_dump(mode="json"), headers=headers)

    @app.post(
        "/v1/campaigns",
        dependencies=authed,
        status_code=201,
        response_model=CampaignView,
        openapi_extra=_CREATE_BODY,
        summary="Create a campaign with its contacts (JSON, or multipart with a CSV file)",
    )
    async def create_campaign(
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Response:
        key = _check_key(idempotency_key)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            body = await _json_object(request)
            if isinstance(body, JSONResponse):
                return body
            contacts = body.pop("contacts", None)
            if not isinstance(contacts, list):
                return _problems(
                    [RowError(None, "contacts", "a list of contacts is required")],
                    "the campaign was not created",
                )
            rows = [(i + 1, c) for i, c in enumerate(contacts)]
            return await create("campaigns", key, body, rows, "campaign", [])
        if ctype == "multipart/form-data":
            async with request.form(max_files=1, max_fields=4) as form:
                spec_field = form.get("campaign")
                upload = form.get("contacts")
                if not isinstance(spec_field, str):
                    return _problems(
                        [RowError(None, "campaign", "a form field with the campaign JSON")],
                        "the campaign was not created",
                    )
                if not isinstance(upload, UploadFile):
                    return _problems(
                        [RowError(None, "contacts", "a CSV file field named contacts")],
                        "the campaign was not created",
                    )
                try:
                    raw = json.loads(spec_field)
                except json.JSONDecodeError as exc:
                    return _problems(
                        [RowError(None, "campaign", f"not JSON: {exc}")], "invalid body"
                    )
                if not isinstance(raw, dict):
                    return _problems(
                        [RowError(None, "campaign", "expected an object")], "invalid body"
                    )
                # Read inside the form's lifetime: the upload is a spooled temporary file,
                # streamed row by row while the contacts are stored.
                file_errors: list[RowError] = []
                streamed = read_contacts_csv(upload.file, file_errors)
                return await create("campaigns", key, raw, streamed, "campaign", file_errors)
        raise HTTPException(415, "send application/json or multipart/form-data")

    @app.get("/v1/campaigns/{campaign_id}", dependencies=authed, response_model=CampaignView)
    def get_campaign(campaign_id: str) -> CampaignView:
        return _view(store.progress(campaign_id, clock()))

    @app.get("/v1/campaigns/{campaign_id}/calls", dependencies=authed, response_model=CallList)
    def list_calls(
        campaign_id: str,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> CallList:
        rows = store.list_attempts(campaign_id, limit=limit, offset=offset)
        return CallList(calls=[_call_view(a) for a in rows], limit=limit, offset=offset)

    def _action(name: str) -> None:
        def act(campaign_id: str) -> CampaignView:
            store.set_status(campaign_id, name, clock())
            return _view(store.progress(campaign_id, clock()))

        act.__name__ = f"{name}_campaign"
        app.post(
            f"/v1/campaigns/{{campaign_id}}/{name}",
            dependencies=authed,
            response_model=CampaignView,
            summary=f"{name.capitalize()} the campaign",
        )(act)

    for action in ("pause", "resume", "cancel"):
        _action(action)

    @app.get(
        "/v1/campaigns/{campaign_id}/results.csv",
        dependencies=authed,
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {}}}},
    )
    def results_csv(campaign_id: str) -> StreamingResponse:
        variable_names = sorted({k for r in store.results(campaign_id) for k in r.variables})
        return StreamingResponse(
            render_results(store.results(campaign_id), variable_names),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{campaign_id}.csv"'},
        )

    @app.post(
        "/v1/calls",
        dependencies=authed,
        status_code=201,
        response_model=CampaignView,
        summary="Place one ad-hoc call (a one-contact campaign)",
    )
    async def adhoc_call(
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Response:
        key = _check_key(idempotency_key)
        body = await _json_object(request)
        if isinstance(body, JSONResponse):
            return body
        contact = {k: body.pop(k) for k in ("phone", "name", "timezone", "variables") if k in body}
        zone = contact.get("timezone")
        if not isinstance(zone, str) or not zone:
            return _problems(
                [RowError(1, "timezone", "an ad-hoc call needs the callee's time zone")],
                "the call was not placed",
            )
        raw: dict[str, Any] = {
            "name": f"ad-hoc call {contact.get('phone', '')}"[:200],
            "timezone": zone,
            "window": {
                "start": "08:00",
                "end": "21:00",
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            },
            "max_concurrent": 1,
            "retry": {"max_attempts": body.pop("max_attempts", 1)},
        }
        raw.update(body)
        return await create("calls", key, raw, [(1, contact)], "adhoc", [])

    @app.get("/v1/dnc", dependencies=authed, response_model=list[DncEntry])
    def list_dnc(
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[DncEntry]:
        return [
            DncEntry(phone=p, reason=r, created_at=t)
            for p, r, t in store.list_dnc(limit=limit, offset=offset)
        ]

    @app.post("/v1/dnc", dependencies=authed, response_model=dict[str, int])
    def add_dnc(body: DncAdd) -> Response | dict[str, int]:
        phones: list[str] = []
        errors: list[RowError] = []
        for i, raw_phone in enumerate(body.phones):
            try:
                phones.append(normalize_phone(raw_phone))
            except ValueError as exc:
                errors.append(RowError(i + 1, "phone", str(exc)))
        if errors:
            return _problems(errors, "the do-not-call list was not changed")
        added = store.add_dnc(phones, body.reason, clock())
        return {"added": added, "already_listed": len(set(phones)) - added}

    @app.get("/v1/dnc/{phone}", dependencies=authed, response_model=DncEntry)
    def get_dnc(phone: Annotated[str, Path(description="E.164")]) -> DncEntry:
        found = store.get_dnc(_phone_or_404(phone))
        if found is None:
            raise NotFound(f"{phone} is not on the do-not-call list")
        return DncEntry(phone=found[0], reason=found[1], created_at=found[2])

    @app.delete("/v1/dnc/{phone}", dependencies=authed, status_code=204)
    def remove_dnc(phone: str) -> Response:
        if not store.remove_dnc(_phone_or_404(phone)):
            raise NotFound(f"{phone} is not on the do-not-call list")
        return Response(status_code=204)

    # --- the reminder agent's routes (per-attempt callback token) ---------------------

    @app.post("/v1/attempts/{attempt_id}/dial", response_model=DialPermit)
    def dial_permit(
        attempt_id: str, callback: Annotated[str, Depends(attempt_token)]
    ) -> DialPermit:
        """Ask right before dialling; allowed once per attempt (window, DNC, pause re-checked)."""
        try:
            reason = store.acquire_dial_permit(attempt_id, callback, clock())
        except BadToken as exc:
            raise HTTPException(401, str(exc)) from None
        return DialPermit(allowed=reason is None, reason=reason)

    @app.post("/v1/attempts/{attempt_id}/outcome", response_model=dict[str, bool])
    def report_outcome(
        attempt_id: str,
        body: OutcomeReport,
        callback: Annotated[str, Depends(attempt_token)],
    ) -> dict[str, bool]:
        try:
            recorded = store.report_outcome(
                attempt_id,
                callback,
                body.outcome,
                body.detail,
                clock(),
                pause_reason=body.pause_reason,
            )
        except BadToken as exc:
            raise HTTPException(401, str(exc)) from None
        return {"recorded": recorded}

    return app


@contextlib.asynccontextmanager
async def _background(
    run: Callable[[asyncio.Event], Coroutine[Any, Any, None]], name: str
) -> AsyncIterator[None]:
    """Run `run(stop)` as a task for the app's lifetime; stop it and wait on the way out."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop), name=name)
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)


def _phone_or_404(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except ValueError:
        raise NotFound(f"{phone!r} is not an E.164 number") from None
