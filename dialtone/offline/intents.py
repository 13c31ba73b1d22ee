"""Which persona intent a caller's words mean: weighted token overlap, no model.

The offline recogniser hears a handful of expected sentences with the odd word wrong, so
a bag-of-words match is enough and fails predictably. Each intent is scored by the best
token F1 between the caller's words and one of its examples, where words are weighted by
how specific they are to one intent (an inverse document frequency over intents), and
function words ("a", "can", "me", "please") count for little whatever their frequency:
in a handful of examples a pronoun can look specific to one intent by chance, and then
"please call me back" would mean "transfer me please".
Contractions are expanded on both sides so "that's all" and "that is all" agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .lm import normalize

DEFAULT_THRESHOLD = 0.5
FUNCTION_WORD_WEIGHT = 0.25

# fmt: off
FUNCTION_WORDS = frozenset((
    "a", "an", "the", "i", "me", "my", "you", "your", "we", "us", "our", "it", "is", "am",
    "are", "was", "be", "to", "of", "on", "in", "at", "for", "with", "and", "or", "that",
    "this", "can", "could", "would", "will", "do", "does", "did", "please", "like", "want",
    "just", "so", "um", "uh", "oh",
))
# fmt: on

_CONTRACTIONS = {
    "that's": "that is",
    "what's": "what is",
    "where's": "where is",
    "it's": "it is",
    "i'm": "i am",
    "i'd": "i would",
    "i'll": "i will",
    "i've": "i have",
    "you're": "you are",
    "we're": "we are",
    "can't": "can not",
    "cannot": "can not",
    "won't": "will not",
    "don't": "do not",
    "doesn't": "does not",
    "let's": "let us",
    "wanna": "want to",
    "gonna": "going to",
}


@dataclass(frozen=True)
class IntentMatch:
    """The best intent for an utterance and its score in [0, 1]."""

    intent: str
    score: float


def tokens(text: str) -> list[str]:
    """Normalised words with contractions expanded."""
    return " ".join(_CONTRACTIONS.get(w, w) for w in normalize(text).split()).split()


def _weights(intents: Mapping[str, Sequence[str]]) -> dict[str, float]:
    doc_freq: dict[str, int] = {}
    for examples in intents.values():
        for word in {w for example in examples for w in tokens(example)}:
            doc_freq[word] = doc_freq.get(word, 0) + 1
    n = max(1, len(intents))
    return {
        word: (FUNCTION_WORD_WEIGHT if word in FUNCTION_WORDS else 1.0) * (1.0 + math.log(n / df))
        for word, df in doc_freq.items()
    }


def _weight(word: str, weights: Mapping[str, float]) -> float:
    """A word's weight; unseen words are noise to the matcher and cost precision."""
    return weights.get(word, FUNCTION_WORD_WEIGHT if word in FUNCTION_WORDS else 1.0)


def _f1(said: set[str], example: set[str], weights: Mapping[str, float]) -> float:
    if not said or not example:
        return 0.0
    overlap = sum(_weight(w, weights) for w in said & example)
    if overlap == 0.0:
        return 0.0
    precision = overlap / sum(_weight(w, weights) for w in said)
    recall = overlap / sum(_weight(w, weights) for w in example)
    return 2 * precision * recall / (precision + recall)


def score_intents(text: str, intents: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Each intent's best weighted token F1 against `text` (0 when nothing overlaps)."""
    weights = _weights(intents)
    said = set(tokens(text))
    return {
        name: max((_f1(said, set(tokens(example)), weights) for example in examples), default=0.0)
        for name, examples in intents.items()
    }


def match_intent(
    text: str,
    intents: Mapping[str, Sequence[str]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> IntentMatch | None:
    """The best-scoring intent if it reaches `threshold`, else None (say the fallback).

    Ties go to the intent listed first, so a persona file's order is its priority.
    """
    best: IntentMatch | None = None
    for name, score in score_intents(text, intents).items():
        if score >= threshold and (best is None or score > best.score):
            best = IntentMatch(name, score)
    return best
