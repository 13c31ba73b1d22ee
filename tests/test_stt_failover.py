"""The recogniser chain: frames reach the listening link at once, and failover still works.

Each link here is a streaming recogniser that records what it is given; one can be told
to fail its first streams (an API error on the first frame), as Deepgram's does when its
websocket drops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, stt
from livekit.agents.language import LanguageCode
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

from dialtone.stt_failover import HELD_FRAMES, DirectFallbackSTT


class Link(stt.STT):
    """A streaming recogniser that says its own name at every flush."""

    def __init__(self, name: str, *, failing: set[int] | None = None) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))
        self.name = name
        self.failing = failing or set()  # which of its streams (0, 1, ...) fail
        self.streams: list[LinkStream] = []

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        raise NotImplementedError

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        fails = len(self.streams) in self.failing
        stream = LinkStream(stt=self, conn_options=conn_options, fails=fails)
        self.streams.append(stream)
        return stream


class LinkStream(stt.RecognizeStream):
    def __init__(self, *, stt: Link, conn_options: APIConnectOptions, fails: bool) -> None:
        super().__init__(stt=stt, conn_options=conn_options)
        self.fails = fails
        self.pushed: list[rtc.AudioFrame] = []

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        self.pushed.append(frame)
        super().push_frame(frame)

    async def _run(self) -> None:
        owner = self._stt
        assert isinstance(owner, Link)
        async for data in self._input_ch:
            if self.fails:
                raise APIConnectionError(f"{owner.name} is down")
            if isinstance(data, self._FlushSentinel):
                self._event_ch.send_nowait(
                    stt.SpeechEvent(
                        type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                        alternatives=[stt.SpeechData(language=LanguageCode("en"), text=owner.name)],
                    )
                )


def frame() -> rtc.AudioFrame:
    return rtc.AudioFrame.create(16000, 1, 800)


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until `condition` holds (bounded in turns, not in time)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def chain(*links: Link) -> DirectFallbackSTT:
    return DirectFallbackSTT(list(links), attempt_timeout=1.0, max_retry_per_stt=0)


async def test_a_pushed_frame_reaches_the_listening_link_without_a_task_hop() -> None:
    first, second = Link("first"), Link("second")
    adapter = chain(first, second)
    async with adapter.stream() as stream:
        await until(lambda: bool(first.streams))
        pushed = frame()
        stream.push_frame(pushed)
        # No await in between: the link has the frame (livekit-agents' adapter queues it
        # for a task of its own to pass on later).
        assert first.streams[0].pushed == [pushed]
        assert not second.streams


async def test_frames_pushed_before_a_link_listens_are_given_to_it_in_order() -> None:
    first = Link("first")
    async with chain(first, Link("second")).stream() as stream:
        frames = [frame() for _ in range(3)]
        for each in frames:
            stream.push_frame(each)  # the stream's task has not run yet: nobody listens
        stream.flush()
        event = await stream.__anext__()
        assert first.streams[0].pushed == frames
        assert event.alternatives[0].text == "first"


def availability_changes(adapter: DirectFallbackSTT) -> list[tuple[str, bool]]:
    """Each `stt_availability_changed` the chain emits, as (link name, available)."""
    changes: list[tuple[str, bool]] = []
    adapter.on("stt_availability_changed", lambda e: changes.append((e.stt.name, e.available)))
    return changes


async def test_a_failing_link_hands_the_call_to_the_next() -> None:
    first, second = Link("first", failing={0, 1}), Link("second")
    adapter = chain(first, second)
    changes = availability_changes(adapter)
    async with adapter.stream() as stream:
        stream.push_frame(frame())
        await until(lambda: bool(second.streams))
        assert changes == [("first", False)]
        after = frame()
        stream.push_frame(after)
        stream.flush()
        event = await stream.__anext__()
        assert event.alternatives[0].text == "second"
        assert after in second.streams[0].pushed
        # The failed link is tried again on the side with the same audio.
        assert after in first.streams[1].pushed


async def test_a_failed_link_that_answers_again_is_marked_available() -> None:
    first, second = Link("first", failing={0}), Link("second")
    adapter = chain(first, second)
    changes = availability_changes(adapter)
    async with adapter.stream() as stream:
        stream.push_frame(frame())
        await until(lambda: bool(second.streams))
        stream.flush()  # the recovery stream (first's second) answers this
        assert (await stream.__anext__()).alternatives[0].text == "second"
        await until(lambda: ("first", True) in changes)
    async with adapter.stream() as again:  # the next stream goes to the recovered link
        again.flush()
        assert (await again.__anext__()).alternatives[0].text == "first"
    await adapter.aclose()


async def test_every_link_failing_ends_the_stream_with_an_error() -> None:
    second = Link("second", failing={0, 1})
    adapter = chain(Link("first", failing={0, 1}), second)
    async with adapter.stream() as stream:
        stream.push_frame(frame())
        await until(lambda: bool(second.streams))
        stream.push_frame(frame())
        with pytest.raises(APIConnectionError):
            await stream.__anext__()
    await adapter.aclose()


async def test_frames_held_while_nobody_listens_are_bounded() -> None:
    async with chain(Link("first")).stream() as stream:
        for _ in range(HELD_FRAMES + 5):
            stream.push_frame(frame())
        assert len(stream._held) == HELD_FRAMES  # type: ignore[attr-defined]
