"""What a phone line does to a voice: 8 kHz, band-limited, G.711 μ-law.

A simulated caller has to sound like a real one to the agent, or the simulator tests a
pipeline no caller will ever reach. Carriers deliver narrowband PCMU; the LiveKit SIP
service decodes it and the agent hears the result. So the caller's synthesized voice is
resampled to 8 kHz and passed through a μ-law encode/decode round trip, which adds the
same quantisation noise the real path adds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..offline.audio import resample

PHONE_RATE = 8000
_MU = 255.0
_PCM_MAX = 32768.0

Int16Array = npt.NDArray[np.int16]


def interpolate(samples: Int16Array, src_rate: int, dst_rate: int) -> Int16Array:
    """Linear rate change for short chunks of a stream (20 ms frames into the recording).

    Whole utterances go through the band-limited `resample`; a per-chunk FFT would
    click at every chunk edge.
    """
    if src_rate == dst_rate or samples.size == 0:
        return samples.astype(np.int16, copy=True)
    count = max(1, round(samples.size * dst_rate / src_rate))
    positions = np.arange(count) * (src_rate / dst_rate)
    out = np.interp(positions, np.arange(samples.size), samples.astype(np.float64))
    result: Int16Array = np.clip(np.round(out), -32768, 32767).astype(np.int16)
    return result


def mulaw_encode(samples: Int16Array) -> npt.NDArray[np.uint8]:
    """G.711 μ-law companding of int16 PCM to 8-bit codes (continuous-curve form)."""
    x = samples.astype(np.float64) / _PCM_MAX
    y = np.sign(x) * np.log1p(_MU * np.abs(x)) / np.log1p(_MU)
    codes = np.round((y + 1.0) / 2.0 * 255.0)
    result: npt.NDArray[np.uint8] = np.clip(codes, 0, 255).astype(np.uint8)
    return result


def mulaw_decode(codes: npt.NDArray[np.uint8]) -> Int16Array:
    """Inverse of `mulaw_encode`."""
    y = codes.astype(np.float64) / 255.0 * 2.0 - 1.0
    x = np.sign(y) * np.expm1(np.abs(y) * np.log1p(_MU)) / _MU
    result: Int16Array = np.clip(np.round(x * _PCM_MAX), -32768, 32767).astype(np.int16)
    return result


def to_phone_line(samples: Int16Array, sample_rate: int) -> Int16Array:
    """Speech at any rate → what the agent receives from a PCMU call, at 8 kHz."""
    narrow = resample(samples, sample_rate, PHONE_RATE)  # band-limited: drops > 4 kHz
    return mulaw_decode(mulaw_encode(narrow))


def trim_silence(samples: Int16Array, threshold: int = 300) -> Int16Array:
    """Drop leading and trailing near-silence, so speech timing is what the script says."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] : loud[-1] + 1]
