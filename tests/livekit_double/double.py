"""`LiveKitDouble`: the server in a background thread, plus the test-facing handles.

A background thread with its own event loop lets the same double serve sync code
(typer's CliRunner calling ``asyncio.run``) and async tests alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import socket
import threading
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from livekit import api
from livekit.protocol.models import ParticipantInfo

from .auth import AuthStyle
from .faults import Faults
from .media import Media
from .records import CallRecord
from .server import Backend, build_app
from .sip_script import SipScripts
from .state import DoubleOptions, DoubleState, ParticipantKind
from .workers import Workers

DEFAULT_KEY = "devkey"
DEFAULT_SECRET = "a-secret-at-least-32-characters-long!!"
#: Hostname the client treats as LiveKit Cloud (only those get retries/failover).
CLOUD_HOST = "dialtone-double.livekit.cloud"


class _LoopbackResolver(AbstractResolver):
    """Resolves every name to 127.0.0.1, so a *.livekit.cloud URL reaches the double."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


class LiveKitDouble:
    """A stand-in LiveKit server (Twirp/HTTP) built from LiveKit's docs; not the real server."""

    def __init__(
        self,
        api_key: str = DEFAULT_KEY,
        api_secret: str = DEFAULT_SECRET,
        *,
        redact_passwords: bool = False,
        supports_move_participant: bool = True,
        auth_errors: AuthStyle = "spec",
        delete_unknown_trunk_ok: bool = False,
        set_timestamps: bool = True,
        full_conflict_check_on_update: bool = False,
        sip_connected: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.options = DoubleOptions(
            redact_passwords=redact_passwords,
            supports_move_participant=supports_move_participant,
            auth_errors=auth_errors,
            delete_unknown_trunk_ok=delete_unknown_trunk_ok,
            set_timestamps=set_timestamps,
            full_conflict_check_on_update=full_conflict_check_on_update,
            sip_connected=sip_connected,
        )
        self._backend = Backend(api_key, api_secret, self.options)
        #: Who hears whom in each room, and where keys are played (media.py).
        self.media = Media(self._backend.state)
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @classmethod
    def self_hosted(
        cls, api_key: str = DEFAULT_KEY, api_secret: str = DEFAULT_SECRET, **kw: Any
    ) -> LiveKitDouble:
        """Behave like self-hosted livekit-server 788d4c3 where it differs from LiveKit's docs."""
        defaults: dict[str, Any] = {
            "auth_errors": "livekit-server",
            "delete_unknown_trunk_ok": True,
            "set_timestamps": False,
            "supports_move_participant": False,
            "redact_passwords": False,
        }
        defaults.update(kw)
        return cls(api_key, api_secret, **defaults)

    # --- handles ------------------------------------------------------------

    @property
    def state(self) -> DoubleState:
        return self._backend.state

    @property
    def calls(self) -> list[CallRecord]:
        return self._backend.calls

    @property
    def faults(self) -> Faults:
        return self._backend.faults

    @property
    def sip(self) -> SipScripts:
        return self._backend.sip

    @property
    def workers(self) -> Workers:
        """Agent workers that registered on `/agent` (agent name, connected or not)."""
        return self._backend.workers

    @property
    def region_lookups(self) -> int:
        """How many ``GET /settings/regions`` the client made (one before each retry)."""
        return self._backend.region_lookups

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError("the double is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cloud_url(self) -> str:
        """A LiveKit-Cloud-looking URL for the double; use with `cloud_session()`.

        The client retries 5xx/transport errors only for *.livekit.cloud hosts, so
        retry behaviour can only be observed through this URL.
        """
        return f"http://{CLOUD_HOST}:{self.port}"

    def cloud_session(self) -> aiohttp.ClientSession:
        """An aiohttp session resolving every host to 127.0.0.1 (call inside a running loop)."""
        connector = aiohttp.TCPConnector(resolver=_LoopbackResolver())
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10))

    @contextlib.asynccontextmanager
    async def client(self, *, cloud: bool = False) -> AsyncIterator[api.LiveKitAPI]:
        """A real `LiveKitAPI` pointed at the double (``cloud=True``: retries engage)."""
        if not cloud:
            lk = api.LiveKitAPI(self.url, self.api_key, self.api_secret)
            try:
                yield lk
            finally:
                await lk.aclose()
            return
        session = self.cloud_session()
        try:
            yield api.LiveKitAPI(self.cloud_url, self.api_key, self.api_secret, session=session)
        finally:
            await session.close()

    def count(self, method: str) -> int:
        """Requests received for ``method`` (every attempt, including failed ones)."""
        return sum(1 for c in self.calls if c.method == method)

    def calls_to(self, method: str) -> list[CallRecord]:
        return [c for c in self.calls if c.method == method]

    def token(
        self,
        *,
        video: api.VideoGrants | None = None,
        sip: api.SIPGrants | None = None,
        ttl: datetime.timedelta | None = None,
        secret: str | None = None,
        key: str | None = None,
    ) -> str:
        """A JWT for raw HTTP tests; override ``secret``/``key``/``ttl`` to make a bad one."""
        tok = api.AccessToken(key or self.api_key, secret or self.api_secret)
        if video is not None:
            tok.with_grants(video)
        if sip is not None:
            tok.with_sip_grants(sip)
        if ttl is not None:
            tok.with_ttl(ttl)
        return tok.to_jwt()

    def add_participant(
        self,
        room: str,
        identity: str,
        *,
        kind: ParticipantKind = "standard",
        attributes: dict[str, str] | None = None,
        name: str = "",
        metadata: str = "",
    ) -> ParticipantInfo:
        """Seed a participant (e.g. an inbound SIP caller to transfer), creating the room."""
        return self.state.add_participant(
            room, identity, kind=kind, attributes=attributes, name=name, metadata=metadata
        )

    def reset(self) -> None:
        """Forget everything: stores, records, scripts and faults."""
        self.state.clear()
        self.calls.clear()
        self.sip.clear()
        self.faults.clear()
        self.workers.clear()
        self._backend.region_lookups = 0
        self.media.clear()

    # --- lifecycle ----------------------------------------------------------

    def start(self) -> LiveKitDouble:
        if self._thread is not None:
            raise RuntimeError("already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def boot() -> None:
            runner = web.AppRunner(build_app(self._backend), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
            self._runner = runner
            self._port = runner.addresses[0][1]

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(boot())
            except BaseException as e:
                failure.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="livekit-double", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, thread, runner = self._loop, self._thread, self._runner
        if loop is None or thread is None:
            return
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> LiveKitDouble:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
