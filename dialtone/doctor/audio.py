"""Did audio flow both ways on the test call: the classic NAT failure is one-way audio.

The doctor joins the call's room, plays a tone to the callee, then listens for the
callee's answer: a DTMF key or speech. Only the callee's reaction proves both
directions (they heard our tone, we heard them); hearing them alone proves one.

Media needs a real LiveKit: the test double has none. So the room work sits behind the
narrow `AudioProbe` seam, the verdict (`judge_audio`) is tested with fake observations,
and `RtcAudioProbe`, which uses `livekit.rtc`, has NOT met a real deployment yet: the
report says so.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .result import Check, failed, passed

FAMILY = "Test call"
NAME = "audio both ways"
UNTESTED = "(this audio check has not met a real deployment yet)"
#: int16 RMS above which a 10 ms frame counts as speech (about -36 dBFS).
SPEECH_RMS = 500.0
#: Frames above SPEECH_RMS after the tone ends that count as the callee speaking (200 ms).
SPEECH_FRAMES = 20
SAMPLE_RATE = 48000
FRAME_MS = 10
TONE_HZ = 440.0

RTP_FIX = (
    "No media from the callee reached LiveKit: open the SIP service's RTP port range to "
    "the carrier and set its public IP (use_external_ip / nat_1_to_1_ip) so the carrier "
    "sends audio to an address it can reach."
)


@dataclass(frozen=True)
class AudioObservation:
    """What the probe saw in the room; `error` when it could not join at all."""

    callee_track: bool = False
    frames: int = 0
    loud_frames_after_tone: int = 0
    dtmf: tuple[str, ...] = ()
    error: str = ""


class AudioProbe(Protocol):
    async def observe(
        self, *, room: str, callee: str, tone_seconds: float, listen_seconds: float
    ) -> AudioObservation: ...


def judge_audio(seen: AudioObservation) -> Check:
    """The verdict from what was seen; every fix names the direction that failed."""
    if seen.error:
        return failed(
            FAMILY,
            NAME,
            f"could not join the test room to listen: {seen.error} {UNTESTED}",
            "Check that this host can reach LIVEKIT_URL over WebSocket and WebRTC (UDP "
            "50000-60000 or TCP 7881 on self-hosted LiveKit).",
        )
    if seen.dtmf:
        return passed(
            FAMILY,
            NAME,
            f"DTMF {''.join(seen.dtmf)!r} received after our tone: audio flows both ways "
            f"{UNTESTED}",
        )
    if seen.loud_frames_after_tone >= SPEECH_FRAMES:
        return passed(
            FAMILY,
            NAME,
            f"the callee spoke after our tone ({seen.loud_frames_after_tone * FRAME_MS} ms "
            f"of speech): audio flows both ways {UNTESTED}",
        )
    if not seen.callee_track or seen.frames == 0:
        return failed(FAMILY, NAME, f"no audio at all from the callee {UNTESTED}", RTP_FIX)
    return failed(
        FAMILY,
        NAME,
        f"the callee's audio arrives but stayed silent and no key was pressed {UNTESTED}",
        "If the callee heard no tone, our audio does not reach them (one-way audio, the "
        "classic NAT failure): set the SIP service's public IP and open its RTP ports; if "
        "they heard it, ask them to press a key and run again.",
    )


def tone_samples(seconds: float, *, rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    """A 440 Hz int16 tone at half scale."""
    t = np.arange(int(seconds * rate)) / rate
    return (16000 * np.sin(2 * math.pi * TONE_HZ * t)).astype(np.int16)


def rms(samples: npt.ArrayLike) -> float:
    values = np.asarray(samples, dtype=np.float64)
    return float(np.sqrt(np.mean(values**2))) if values.size else 0.0


class RtcAudioProbe:
    """Joins with `livekit.rtc`, plays the tone, listens. Never met a real deployment."""

    def __init__(self, *, url: str, api_key: str, api_secret: str) -> None:
        self._url = url
        self._key = api_key
        self._secret = api_secret

    def _token(self, room: str) -> str:
        from livekit import api

        grants = api.VideoGrants(room_join=True, room=room)
        token = api.AccessToken(self._key, self._secret).with_identity("dialtone-doctor")
        return token.with_grants(grants).to_jwt()

    async def observe(
        self, *, room: str, callee: str, tone_seconds: float, listen_seconds: float
    ) -> AudioObservation:  # pragma: no cover - needs media, which the double lacks
        from livekit import rtc

        lk_room = rtc.Room()
        dtmf: list[str] = []
        counts = {"frames": 0, "loud": 0}
        tone_done = asyncio.Event()
        track_seen = asyncio.Event()
        readers: list[asyncio.Task[None]] = []

        async def read(track: rtc.Track) -> None:
            async for event in rtc.AudioStream(track, sample_rate=SAMPLE_RATE):
                counts["frames"] += 1
                if tone_done.is_set() and rms(event.frame.data) > SPEECH_RMS:
                    counts["loud"] += 1

        def on_track(
            track: rtc.Track, _pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant
        ) -> None:
            if who.identity == callee and track.kind == rtc.TrackKind.KIND_AUDIO:
                track_seen.set()
                readers.append(asyncio.create_task(read(track)))

        def on_dtmf(event: rtc.SipDTMF) -> None:
            if tone_done.is_set():
                dtmf.append(event.digit)

        lk_room.on("track_subscribed", on_track)
        lk_room.on("sip_dtmf_received", on_dtmf)
        try:
            await asyncio.wait_for(lk_room.connect(self._url, self._token(room)), 10)
            source = rtc.AudioSource(SAMPLE_RATE, 1)
            track = rtc.LocalAudioTrack.create_audio_track("doctor-tone", source)
            await lk_room.local_participant.publish_track(track)
            samples = tone_samples(tone_seconds)
            step = SAMPLE_RATE * FRAME_MS // 1000
            for start in range(0, len(samples) - step + 1, step):
                chunk = samples[start : start + step].tobytes()
                await source.capture_frame(rtc.AudioFrame(chunk, SAMPLE_RATE, 1, step))
            await source.wait_for_playout()  # the queued tone is out: what follows is them
            tone_done.set()
            await asyncio.sleep(listen_seconds)
        except Exception as exc:  # any failure to join is the verdict, not a crash
            return AudioObservation(error=f"{type(exc).__name__}: {exc}")
        finally:
            for task in readers:
                task.cancel()
            await lk_room.disconnect()
        return AudioObservation(
            callee_track=track_seen.is_set(),
            frames=counts["frames"],
            loud_frames_after_tone=counts["loud"],
            dtmf=tuple(dtmf),
        )
