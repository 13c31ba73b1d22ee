"""espeak-ng synthesis and the EspeakTTS link."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from dialtone.offline import espeak
from dialtone.offline.espeak import EspeakError, espeak_available, parse_wav, synthesize
from dialtone.offline.tts import EspeakTTS

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")


def streamed_wav(samples: np.ndarray, rate: int) -> bytes:
    """A WAV like espeak's --stdout: placeholder sizes, data running to end of file."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 0x7FFFF024)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", 0x7FFFF000)
        + samples.astype("<i2").tobytes()
    )


def test_parse_wav_reads_data_to_the_end_despite_a_bogus_size() -> None:
    samples = np.arange(-500, 500, dtype=np.int16)
    parsed, rate = parse_wav(streamed_wav(samples, 22050))
    assert rate == 22050
    np.testing.assert_array_equal(parsed, samples)
    with pytest.raises(EspeakError):
        parse_wav(b"not a wav file")


@needs_espeak
@pytest.mark.parametrize("rate", [8000, 16000, 24000])
async def test_synthesize_returns_audio_at_the_requested_rate(rate: int) -> None:
    pcm = await synthesize("What are your hours?", voice="en-us+m3", sample_rate=rate)
    assert pcm.dtype == np.int16
    seconds = pcm.size / rate
    assert 0.5 < seconds < 4.0
    assert np.abs(pcm).max() > 1000  # speech, not silence


@needs_espeak
async def test_synthesize_speed_and_empty_text() -> None:
    slow = await synthesize("what time do you close", speed=0.7)
    fast = await synthesize("what time do you close", speed=1.4)
    assert slow.size > fast.size * 1.3
    assert (await synthesize("   ")).size == 0
    # Text is read from stdin: something that looks like an option is just spoken.
    assert (await synthesize("-v --help")).size > 0


async def test_a_missing_espeak_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(espeak, "ESPEAK", "espeak-ng-not-installed-here")
    with pytest.raises(EspeakError, match="install the Debian package espeak-ng"):
        await synthesize("hello")


@needs_espeak
async def test_espeak_tts_streams_frames() -> None:
    voice = EspeakTTS(voice="en-us+f3", speed=1.0)
    assert not voice.capabilities.streaming
    assert (voice.sample_rate, voice.num_channels) == (16000, 1)
    frames = []
    async with voice.synthesize("Thank you for calling. Goodbye!") as stream:
        async for event in stream:
            frames.append(event.frame)
    assert len(frames) > 10
    assert all(f.sample_rate == 16000 and f.num_channels == 1 for f in frames)
    assert 1.0 < sum(f.duration for f in frames) < 5.0
    await voice.aclose()
