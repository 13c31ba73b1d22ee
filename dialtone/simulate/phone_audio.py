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


class _Fir:
    """A windowed-sinc low-pass that keeps its tail between chunks (no edge clicks)."""

    def __init__(self, *, rate: int, cutoff: float, taps: int = 63, gain: float = 1.0) -> None:
        n = np.arange(taps) - (taps - 1) / 2
        kernel = np.sinc(2 * cutoff / rate * n) * np.hamming(taps)
        self._kernel = kernel / kernel.sum() * gain
        self._tail = np.zeros(taps - 1)

    def __call__(self, samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        joined = np.concatenate([self._tail, samples])
        self._tail = joined[joined.size - self._tail.size :]
        filtered: npt.NDArray[np.float64] = np.convolve(joined, self._kernel, mode="valid")
        return filtered


class PhoneBandStream:
    """A live 16 kHz stream through a phone line, chunk by chunk (`dialtone console`).

    `to_phone_line` works on whole utterances; a microphone or a speaker is a stream, so
    this filters with state: low-pass at 3.4 kHz, keep every second sample (8 kHz),
    μ-law round trip. `widen` brings the 8 kHz line back to 16 kHz for a sound card.
    Use one instance per direction: each keeps its own filter state.
    """

    RATE = PHONE_RATE * 2

    def __init__(self) -> None:
        self._narrow = _Fir(rate=self.RATE, cutoff=3400)
        self._widen = _Fir(rate=self.RATE, cutoff=3400, gain=2.0)
        self._phase = 0

    def narrow(self, samples: Int16Array) -> Int16Array:
        """16 kHz in, what the far end of a PCMU call receives (8 kHz) out."""
        filtered = self._narrow(samples.astype(np.float64))
        kept = filtered[self._phase :: 2]
        self._phase = (self._phase + filtered.size) % 2
        clipped = np.clip(np.round(kept), -32768, 32767).astype(np.int16)
        return mulaw_decode(mulaw_encode(clipped))

    def widen(self, samples: Int16Array) -> Int16Array:
        """8 kHz line audio in, the same band at 16 kHz out (for a 16 kHz sound card)."""
        stuffed = np.zeros(samples.size * 2)
        stuffed[::2] = samples
        result: Int16Array = np.clip(np.round(self._widen(stuffed)), -32768, 32767).astype(np.int16)
        return result
