"""How well the offline recogniser understands simulated callers on a phone line.

For each espeak-ng caller voice, every phrase of the persona is synthesized at 8 kHz,
passed through G.711 mu-law, and decoded by `PocketSphinxSTT` (its worker process, the
persona language model). Reports intent accuracy (does the recognised text classify to
the same intent as what was said? this is what the caller experiences), word error rate,
and decode time per utterance. Held-out phrases (not in the language model) show how
gracefully it degrades. Figures only; nothing here is asserted.

    .venv/bin/python bench/offline_asr.py [--persona personas/receptionist.yaml]
        [--voices en-us+m3,en-us+f2,en-us] [--speeds 1.0,0.85] [--pitch 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dialtone.offline.audio import resample
from dialtone.offline.espeak import synthesize
from dialtone.offline.intents import match_intent
from dialtone.offline.lm import normalize
from dialtone.offline.stt import PocketSphinxSTT
from dialtone.personas import load_persona

ROOT = Path(__file__).resolve().parents[1]

HELD_OUT = (
    "when do you open tomorrow",
    "where is the clinic",
    "i want to leave a message for the doctor",
    "can i speak to a person please",
    "okay thank you bye",
)


def mulaw_roundtrip(pcm: NDArray[np.int16]) -> NDArray[np.int16]:
    """Encode and decode G.711 mu-law (continuous companding, 8-bit quantised)."""
    x = pcm.astype(np.float64) / 32768.0
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    q = np.round(y * 127.0) / 127.0
    out = np.sign(q) * ((1.0 + mu) ** np.abs(q) - 1.0) / mu * 32767.0
    line: NDArray[np.int16] = np.clip(out, -32768, 32767).astype(np.int16)
    return line


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        diagonal, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ref != hyp))
    return row[-1]


@dataclass
class Tally:
    n: int = 0
    intent_ok: int = 0
    errors: int = 0
    words: int = 0
    decode: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def line(self, label: str) -> str:
        wer = self.errors / max(1, self.words)
        p50 = statistics.median(self.decode) * 1000 if self.decode else 0.0
        worst = max(self.decode, default=0.0) * 1000
        return (
            f"{label:34} intent {self.intent_ok:2}/{self.n:<2} ({self.intent_ok / self.n:4.0%})"
            f"  WER {wer:4.0%}  decode p50 {p50:4.0f} ms  max {worst:4.0f} ms"
        )


async def run(args: argparse.Namespace) -> None:
    persona = load_persona(Path(args.persona))
    intents = {name: intent.examples for name, intent in persona.offline.intents.items()}
    recogniser = PocketSphinxSTT(phrases=persona.phrases())
    warm = time.perf_counter()
    await recogniser.recognize_pcm(np.zeros(1600, dtype=np.int16))
    print(f"worker start + decoder load: {time.perf_counter() - warm:.2f} s")
    sets = {"in LM": persona.phrases(), "held out": list(HELD_OUT)}
    try:
        for voice in args.voices.split(","):
            for speed in (float(s) for s in args.speeds.split(",")):
                for name, phrases in sets.items():
                    tally = Tally()
                    for phrase in phrases:
                        pcm = await synthesize(
                            phrase, voice=voice, speed=speed, pitch=args.pitch, sample_rate=8000
                        )
                        wideband = resample(mulaw_roundtrip(pcm), 8000, 16000)
                        result = await recogniser.recognize_pcm(wideband)
                        expected = match_intent(phrase, intents)
                        got = match_intent(result.text, intents)
                        tally.n += 1
                        same = (expected and expected.intent) == (got and got.intent)
                        tally.intent_ok += same
                        reference = normalize(phrase).split()
                        tally.errors += word_errors(reference, result.text.split())
                        tally.words += len(reference)
                        tally.decode.append(result.decode_seconds)
                        if not same:
                            tally.misses.append(f"{phrase!r} -> {result.text!r}")
                    print(tally.line(f"{voice} x{speed} {name}"))
                    if args.verbose:
                        for miss in tally.misses:
                            print("    ", miss)
    finally:
        await recogniser.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persona", default=str(ROOT / "personas" / "receptionist.yaml"))
    parser.add_argument("--voices", default="en-us+m3,en-us+f2,en-us")
    parser.add_argument("--speeds", default="1.0,0.85")
    parser.add_argument("--pitch", type=int, default=None)
    parser.add_argument("-v", "--verbose", action="store_true", help="list misclassified")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
