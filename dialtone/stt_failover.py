"""A recogniser fallback chain that hands each frame straight to the link listening.

livekit-agents' `stt.FallbackAdapter` queues every frame of a call in its own stream's
channel and has a task of its own read it and push it on to the link's stream: one
more queue and one more task wake-up per frame (20 a second per call at 50 ms frames),
for a chain whose first link answers almost every call. Measured with
`bench/call_capacity.py` that hop was most of what dialtone's cloud profile cost over a
bare livekit-agents call.

`DirectFallbackSTT` is that adapter (the same links, availability, recovery, events and
`recognize`) whose stream pushes a frame into the current link's stream in the caller's
own `push_frame`. Frames that come while no link is listening (the moment between one
link failing and the next one opening) are held, up to `HELD_FRAMES`, and given to the
next link, so the words a caller says while the chain switches are not lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable

from livekit import rtc
from livekit.agents import APIConnectionError, stt
from livekit.agents.stt.fallback_adapter import (
    DEFAULT_FALLBACK_API_CONNECT_OPTIONS,
    AvailabilityChangedEvent,
)
from livekit.agents.types import NOT_GIVEN, APIConnectOptions, NotGivenOr

logger = logging.getLogger("dialtone.stt_failover")

#: Frames kept while no link listens (at 50 ms frames, 10 s): more than a link takes
#: to fail over (`DIALTONE_PROVIDER_TIMEOUT`), bounded so a chain that never opens
#: again cannot grow without end.
HELD_FRAMES = 200


class _Flush:
    """A held flush, replayed in order with the held frames."""


_FLUSH = _Flush()


class DirectFallbackSTT(stt.FallbackAdapter):
    """`stt.FallbackAdapter` whose streams forward frames without a task in between."""

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_FALLBACK_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        return DirectFallbackStream(adapter=self, language=language, conn_options=conn_options)


class DirectFallbackStream(stt.RecognizeStream):
    """One call's recognition through the chain: the first available link streams.

    A link that fails (an API error, a timeout) is marked unavailable, the adapter says
    so (`stt_availability_changed`), and the next link streams the rest of the call
    while the failed one is tried again on the side (a recovery stream that gets every
    frame too); a recovered link serves the next stream. As livekit-agents' own stream.
    """

    def __init__(
        self,
        *,
        adapter: DirectFallbackSTT,
        language: NotGivenOr[str],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(stt=adapter, conn_options=conn_options, sample_rate=NOT_GIVEN)
        self._adapter = adapter
        self._language = language
        self._link: stt.RecognizeStream | None = None
        self._recovering: list[stt.RecognizeStream] = []
        self._held: deque[rtc.AudioFrame | _Flush] = deque(maxlen=HELD_FRAMES)
        self._ended = False

    # -- input: straight to the link (and any recovery stream), or held -------------

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        self._check_input_not_ended()
        self._check_not_closed()
        for recovering in self._recovering:
            _quietly(recovering.push_frame, frame)
        if self._link is None or not _try(self._link.push_frame, frame):
            self._held.append(frame)

    def flush(self) -> None:
        self._check_input_not_ended()
        self._check_not_closed()
        for recovering in self._recovering:
            _quietly(recovering.flush)
        if self._link is None or not _try(self._link.flush):
            self._held.append(_FLUSH)

    def end_input(self) -> None:
        self.flush()
        self._ended = True
        self._input_ch.close()  # later pushes raise, as on any ended stream
        for recovering in self._recovering:
            _quietly(recovering.end_input)
        if self._link is not None:
            _quietly(self._link.end_input)

    def _open(self, link: stt.RecognizeStream) -> None:
        """Make `link` the one listening: the held frames first, in order."""
        while self._held:
            item = self._held.popleft()
            if isinstance(item, _Flush):
                _quietly(link.flush)
            else:
                _quietly(link.push_frame, item)
        if self._ended:
            _quietly(link.end_input)
        self._link = link

    # -- the chain -------------------------------------------------------------------

    def _link_options(self) -> APIConnectOptions:
        adapter = self._adapter
        return dataclasses.replace(
            self._conn_options,
            max_retry=adapter._max_retry_per_stt,
            timeout=adapter._attempt_timeout,
            retry_interval=adapter._retry_interval,
        )

    async def _run(self) -> None:
        adapter = self._adapter
        started = time.time()
        all_failed = not any(status.available for status in adapter._status)
        if all_failed:
            logger.error("every recogniser of the chain is down: trying them all again")
        for link_stt, status in zip(adapter._stt_instances, adapter._status, strict=True):
            if status.available or all_failed:
                link = link_stt.stream(language=self._language, conn_options=self._link_options())
                link.start_time_offset = self.start_time_offset + (time.time() - self._start_time)
                try:
                    self._open(link)
                    async with link:
                        served = False
                        async for event in link:
                            if not served:
                                served = True
                                adapter._active_instance = link_stt
                            self._event_ch.send_nowait(event)
                    return
                except Exception as exc:  # a link's failure of any kind: the next one
                    self._link = None
                    logger.warning(
                        "%s failed, the next recogniser listens: %r", link_stt.label, exc
                    )
                    if status.available:
                        status.available = False
                        adapter.emit(
                            "stt_availability_changed",
                            AvailabilityChangedEvent(stt=link_stt, available=False),
                        )
            self._try_recovery(link_stt)
        labels = [link.label for link in adapter._stt_instances]
        raise APIConnectionError(
            f"every recogniser failed ({labels}) within {time.time() - started:.1f} s"
        )

    def _try_recovery(self, link_stt: stt.STT) -> None:
        """Listen with a failed link on the side; its first words mark it available."""
        adapter = self._adapter
        status = adapter._status[adapter._stt_instances.index(link_stt)]
        if status.recovering_stream_task is not None and not status.recovering_stream_task.done():
            return
        probe = link_stt.stream(
            language=self._language,
            conn_options=dataclasses.replace(
                self._conn_options, max_retry=0, timeout=adapter._attempt_timeout
            ),
        )
        self._recovering.append(probe)

        async def recover() -> None:
            try:
                async with probe:
                    async for event in probe:
                        final = event.type == stt.SpeechEventType.FINAL_TRANSCRIPT
                        if final and event.alternatives and event.alternatives[0].text:
                            break
                    else:
                        return
            except Exception as exc:  # still down: the next stream tries again
                logger.info("%s is still down: %r", link_stt.label, exc)
                return
            status.available = True
            logger.info("%s recovered", link_stt.label)
            adapter.emit(
                "stt_availability_changed",
                AvailabilityChangedEvent(stt=link_stt, available=True),
            )

        task = asyncio.create_task(recover(), name="dialtone.stt_recovery")
        status.recovering_stream_task = task
        task.add_done_callback(lambda _: self._recovering.remove(probe))


def _try(push: Callable[..., None], *args: object) -> bool:
    """Call `push(*args)`; False when the stream refused it (closed after a failure)."""
    try:
        push(*args)
    except Exception:
        return False
    return True


def _quietly(push: Callable[..., None], *args: object) -> None:
    _try(push, *args)
