"""What the caller types in text mode, read without blocking the call.

stdin is read on a daemon thread: a blocked `readline` must never keep the process
alive after the call has ended (asyncio's own executor threads are joined at exit).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Protocol, TextIO


class LineSource(Protocol):
    """Typed lines, then None at end of input."""

    async def next_line(self) -> str | None: ...


class StdinLines:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, name="console-stdin", daemon=True).start()

    def _read(self) -> None:
        while True:
            line = self._stream.readline()
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line or None)
            if not line:
                return

    async def next_line(self) -> str | None:
        return await self._queue.get()
