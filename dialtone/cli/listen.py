"""Serving an app on a socket this process bound first: one for `dialtone serve` and
`dialtone run`.

Binding before uvicorn starts turns a taken port into one line naming the fix (instead
of uvicorn's logged OSError), lets `dialtone run` refuse before it spends half a minute
on a simulated call whose console could never be served, and makes `--port 0` (any free
port) print the port it got. Ctrl-C ends the server through uvicorn's graceful shutdown
and then the process with status 0, not click's "Aborted!" and status 1.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


class ListenError(Exception):
    """The address cannot be listened on; the message says what to do."""


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (0: any free port)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ListenError(f"--host {host}: not an address of this machine ({exc})") from None
    sock = socket.socket(family, kind, proto)
    # Lets a restarted server take the port while old connections sit in TIME_WAIT; on
    # Linux it does not let two servers listen on one port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"port {port} on {host} is already in use (another `dialtone serve` or "
                "`dialtone run`?): stop it, or pass --port with another port (0: any free one)"
            ) from None
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def serve_on(
    application: FastAPI,
    sock: socket.socket,
    *,
    log_level: str,
    on_started: Callable[[], None],
) -> None:
    """Serve until Ctrl-C (then return) or SIGTERM; `on_started` runs once requests are
    answered."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # the app's lifespan ran: requests are answered from now on
                on_started()

    try:
        Server(uvicorn.Config(application, log_level=log_level.lower())).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn re-raises the SIGINT it shut down for, once shutdown is done.
        pass
    finally:
        sock.close()
