"""What the human's leg says first: the worker's `first_words` for voicemail detection.

In a bridge the human is dialed into the caller's room, so the agent is subscribed to
their audio. After `CreateSIPParticipant` returns (answered), the desk asks what they
said first; a voicemail greeting ("... leave a message after the tone") makes the
transfer end as `voicemail` and that leg is hung up. The caller hears hold audio while
this listens. The call's own STT is used (wrapped with the VAD when it cannot stream, as
livekit-agents does for a session), so no second provider is needed.

livekit-agents' `AMD` (voice/amd) classifies a greeting with an LLM, but it is wired to
the session's own input and pauses the session's speech while it runs, which would stop
the caller's hold audio; that is why it is not used here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable

from livekit import rtc
from livekit.agents import stt, vad

from .transfer import looks_like_voicemail

LISTEN_S = 4.0
TRACK_WAIT_S = 3.0
RATE = 16000
#: Silence appended after the listening window so the VAD closes the last segment.
TAIL_S = 0.8


def _silence(seconds: float) -> rtc.AudioFrame:
    samples = int(RATE * seconds)
    return rtc.AudioFrame(
        data=b"\0\0" * samples, sample_rate=RATE, num_channels=1, samples_per_channel=samples
    )


async def transcribe_opening(
    frames: AsyncIterable[rtc.AudioFrame],
    recognizer: stt.STT,
    detector: vad.VAD,
    *,
    seconds: float = LISTEN_S,
    enough: Callable[[str], bool] = looks_like_voicemail,
) -> str:
    """The final transcripts of the first `seconds` of `frames`, joined.

    Stops early once the words so far are `enough` (a voicemail greeting by default; a
    clear yes or no when listening for the human's answer to the brief).
    """
    engine = (
        recognizer
        if recognizer.capabilities.streaming
        else stt.StreamAdapter(stt=recognizer, vad=detector)
    )
    stream = engine.stream()
    words: list[str] = []
    voicemail = asyncio.Event()

    async def read() -> None:
        async for event in stream:
            if event.type == stt.SpeechEventType.FINAL_TRANSCRIPT and event.alternatives:
                words.append(event.alternatives[0].text.strip())
                if enough(" ".join(words)):
                    voicemail.set()

    reader = asyncio.create_task(read())
    try:
        heard = 0.0
        async for frame in frames:
            stream.push_frame(frame)
            heard += frame.samples_per_channel / frame.sample_rate
            if heard >= seconds or voicemail.is_set() or reader.done():
                break
        if not voicemail.is_set():
            stream.push_frame(_silence(TAIL_S))
            stream.end_input()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader, timeout=seconds)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await stream.aclose()
    return " ".join(word for word in words if word)


async def audio_track(room: rtc.Room, identity: str, wait_s: float) -> rtc.Track | None:
    """The human's audio track, once the agent is subscribed to it (None on timeout)."""
    found: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    def on_track(
        track: rtc.Track, _pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant
    ) -> None:
        audio = track.kind == rtc.TrackKind.KIND_AUDIO
        if who.identity == identity and audio and not found.done():
            found.set_result(track)

    room.on("track_subscribed", on_track)
    try:
        participant = room.remote_participants.get(identity)
        if participant is not None:
            for publication in participant.track_publications.values():
                if publication.track is not None and publication.kind == rtc.TrackKind.KIND_AUDIO:
                    return publication.track
        return await asyncio.wait_for(found, wait_s)
    except TimeoutError:
        return None
    finally:
        room.off("track_subscribed", on_track)


async def _frames(stream: rtc.AudioStream) -> AsyncIterator[rtc.AudioFrame]:
    async for event in stream:
        yield event.frame


async def human_first_words(
    room: rtc.Room,
    identity: str,
    recognizer: stt.STT,
    detector: vad.VAD,
    *,
    seconds: float = LISTEN_S,
    enough: Callable[[str], bool] = looks_like_voicemail,
) -> str | None:
    """What `identity` says in the next `seconds` (None: no audio); see `transcribe_opening`."""
    track = await audio_track(room, identity, TRACK_WAIT_S)
    if track is None:
        return None
    audio = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
    try:
        return await transcribe_opening(
            _frames(audio), recognizer, detector, seconds=seconds, enough=enough
        )
    finally:
        await audio.aclose()
