"""The HTTP context a LiveKit job has, for calls simulated outside a worker.

A job process opens livekit-agents' shared aiohttp session before the entrypoint runs
and closes it after shutdown; the cloud plugins (Deepgram's streaming STT, for one) take
their session from it. A simulated call runs no job, so without this the cloud profile
crashed the first time a fallback chain opened a provider stream.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from livekit.agents.utils import http_context

P = ParamSpec("P")
T = TypeVar("T")


def in_job_http_context(
    call: Callable[P, Awaitable[T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Run `call` inside an HTTP context opened for it and closed after it (reused when
    one is already open, as in a worker)."""

    @functools.wraps(call)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        async with http_context.open():
            return await call(*args, **kwargs)

    return run
