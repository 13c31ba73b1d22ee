"""The phone-line model used for simulated callers."""

import numpy as np

from dialtone.simulate.phone_audio import (
    PHONE_RATE,
    interpolate,
    mulaw_decode,
    mulaw_encode,
    to_phone_line,
    trim_silence,
)


def tone(freq: float, rate: int, seconds: float, amplitude: float = 8000) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def test_mulaw_round_trip_keeps_relative_error_small() -> None:
    signal = tone(440, PHONE_RATE, 0.5)
    decoded = mulaw_decode(mulaw_encode(signal))
    error = np.abs(decoded.astype(float) - signal) / (np.abs(signal.astype(float)) + 64)
    assert error.max() < 0.08  # 8-bit companding: a few percent, not more
    assert mulaw_encode(signal).dtype == np.uint8


def test_interpolate_keeps_duration_and_pitch() -> None:
    wide = tone(300, 16000, 1.0)
    narrow = interpolate(wide, 16000, PHONE_RATE)
    assert narrow.size == PHONE_RATE
    spectrum = np.abs(np.fft.rfft(narrow))
    assert abs(np.argmax(spectrum) * PHONE_RATE / narrow.size - 300) < 2


def test_phone_line_removes_energy_above_the_band() -> None:
    high = tone(6000, 16000, 0.5)
    assert np.abs(to_phone_line(high, 16000)).mean() < 0.2 * np.abs(high).mean()


def test_trim_silence() -> None:
    audio = np.concatenate([np.zeros(100), tone(300, 8000, 0.1), np.zeros(50)]).astype(np.int16)
    trimmed = trim_silence(audio)
    assert 700 <= trimmed.size <= 800
    assert trim_silence(np.zeros(10, dtype=np.int16)).size == 0
