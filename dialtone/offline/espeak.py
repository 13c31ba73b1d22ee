"""espeak-ng as an async function: text in, mono int16 PCM at the rate you ask for.

espeak-ng is a small local synthesizer (a Debian package), robotic but instant and
keyless, which makes it the voice of the offline profile and of the simulated caller. It
runs as a subprocess so a long sentence never blocks the event loop, and text goes in on
stdin so nothing a caller or persona writes can be read as a command-line option.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import struct

import numpy as np

from .audio import PCM, resample, to_mono

ESPEAK = "espeak-ng"
BASE_WPM = 175
"""espeak-ng's default speaking rate; `speed=1.0` means this many words per minute."""

INSTALL_HINT = "install the Debian package espeak-ng (make run does this)"


class EspeakError(RuntimeError):
    """espeak-ng is missing, failed, or produced audio this module cannot read."""


def espeak_available() -> bool:
    """Whether espeak-ng is on PATH (tests and the simulator skip or explain otherwise)."""
    return shutil.which(ESPEAK) is not None


def words_per_minute(speed: float) -> int:
    """espeak-ng's `-s` value for a speed multiplier, kept inside what espeak accepts."""
    return max(80, min(450, round(BASE_WPM * speed)))


async def synthesize(
    text: str,
    *,
    voice: str = "en-us",
    speed: float = 1.0,
    sample_rate: int = 16000,
    pitch: int | None = None,
) -> PCM:
    """Speak `text` with espeak-ng; return mono int16 samples at `sample_rate`.

    `voice` is an espeak-ng voice with optional variant ("en-us+f3"); `speed` multiplies
    the default 175 words per minute; `pitch` is espeak's 0-99 (default 50). Empty text
    gives an empty array. Raises `EspeakError` if espeak-ng is not installed or fails.
    """
    if not text.strip():
        return np.zeros(0, dtype=np.int16)
    args = ["--stdout", "--stdin", "-v", voice, "-s", str(words_per_minute(speed))]
    if pitch is not None:
        args += ["-p", str(max(0, min(99, pitch)))]
    try:
        process = await asyncio.create_subprocess_exec(
            ESPEAK,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise EspeakError(f"{ESPEAK} is not installed: {INSTALL_HINT}") from None
    try:
        wav, err = await process.communicate(text.encode("utf-8"))
    except BaseException:
        # Cancelled (the caller barged in) or failed: never leave a synthesizer running.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        detail = err.decode("utf-8", "replace").strip() or f"exit status {process.returncode}"
        raise EspeakError(f"{ESPEAK} -v {voice} failed: {detail}")
    samples, rate = parse_wav(wav)
    return resample(samples, rate, sample_rate)


def parse_wav(data: bytes) -> tuple[PCM, int]:
    """Read 16-bit PCM WAV bytes into mono samples and their rate.

    espeak-ng writes its header before it knows the length, so the RIFF and data sizes
    are placeholders (0x7ffff000): walk the chunks and take the data chunk to the end of
    the bytes whenever its declared size runs past them.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise EspeakError("espeak-ng output is not a WAV file")
    pos = 12
    channels = rate = bits = 0
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if fmt != 1 or bits != 16:
                raise EspeakError(f"unsupported WAV format {fmt} with {bits} bits per sample")
        elif chunk_id == b"data":
            if not rate:
                raise EspeakError("WAV data chunk before its fmt chunk")
            end = min(len(data), body + size)
            end -= (end - body) % (2 * channels)
            samples = np.frombuffer(data[body:end], dtype="<i2").astype(np.int16)
            return to_mono(samples, channels), rate
        pos = body + size + (size & 1)
    raise EspeakError("espeak-ng output has no audio data")
