"""Small numpy helpers for whole-utterance PCM: channel mixing and resampling.

The offline links handle complete utterances (a VAD-cut turn, a synthesized sentence),
not streams, so a one-shot FFT resampler is enough: it is exact band-limited
interpolation for any pair of rates, needs no scipy, and costs a few milliseconds for
several seconds of audio.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

PCM = NDArray[np.int16]


def to_mono(samples: NDArray[np.int16], num_channels: int) -> PCM:
    """Average interleaved channels into one (telephony is mono; STT wants mono)."""
    if num_channels <= 1:
        return samples.astype(np.int16, copy=False)
    frames = samples.reshape(-1, num_channels).astype(np.float64)
    mixed: PCM = np.round(frames.mean(axis=1)).astype(np.int16)
    return mixed


def resample(samples: NDArray[np.int16], src_rate: int, dst_rate: int) -> PCM:
    """Resample mono int16 PCM from `src_rate` to `dst_rate` (band-limited, via the FFT).

    Downsampling drops the spectrum above the new Nyquist frequency, which is the
    anti-aliasing filter a telephone band needs; upsampling zero-pads it.
    """
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
    if src_rate == dst_rate or samples.size == 0:
        return samples.astype(np.int16, copy=True)
    n_in = samples.size
    n_out = max(1, round(n_in * dst_rate / src_rate))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    bins_out = n_out // 2 + 1
    if bins_out <= spectrum.size:
        spectrum = spectrum[:bins_out]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins_out - spectrum.size, complex)])
    out = np.fft.irfft(spectrum, n=n_out) * (n_out / n_in)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)
