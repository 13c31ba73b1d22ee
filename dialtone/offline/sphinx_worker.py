"""What runs inside the recogniser's worker process: one pocketsphinx decoder.

Kept apart from `stt` so the worker imports only pocketsphinx and the standard library,
not livekit: that keeps each worker near the size of the acoustic model and lets it start
in well under a second.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .lm import build_language_model, model_dir

SAMPLE_RATE = 16000
"""pocketsphinx's en-us acoustic model is wideband: 8 kHz audio is upsampled first."""


@dataclass(frozen=True)
class Recognition:
    """One decoded utterance, as the worker returns it."""

    text: str
    confidence: float
    decode_seconds: float


# State of this worker process, set once by the pool initializer.
_decoder: Any = None
_dropped: frozenset[str] = frozenset()


def init_worker(phrases: list[str], cache_dir: str | None) -> None:
    """Build or reuse the language model, then load the decoder once per worker.

    Ctrl-C in a terminal reaches the whole process group: the worker leaves stopping to
    its parent (which shuts the pool down) instead of printing its own traceback.
    """
    global _decoder, _dropped
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from pocketsphinx import Decoder

    model = build_language_model(phrases, cache_dir=Path(cache_dir) if cache_dir else None)
    _dropped = model.dropped
    _decoder = Decoder(
        hmm=str(model_dir() / "en-us"),
        lm=str(model.lm_path),
        dict=str(model.dict_path),
        samprate=SAMPLE_RATE,
        logfn="/dev/null",
    )


def dropped_words() -> frozenset[str]:
    """Words of the phrases the dictionary lacks (logged by the agent process)."""
    return _dropped


def decode(pcm: bytes) -> Recognition:
    """Decode one whole utterance of 16 kHz mono int16 PCM."""
    started = time.perf_counter()
    _decoder.start_utt()
    _decoder.process_raw(pcm, False, True)
    _decoder.end_utt()
    hyp = _decoder.hyp()
    text = hyp.hypstr.strip() if hyp is not None else ""
    confidence = float(min(1.0, max(0.0, hyp.prob))) if hyp is not None else 0.0
    return Recognition(text, confidence, time.perf_counter() - started)
