"""A small pocketsphinx language model (and dictionary) for one persona's phrases.

pocketsphinx's general English model misrecognises most phone-band speech; a language
model that only knows the sentences a caller of this persona is expected to say brings
the word error rate for those sentences near zero. General call words ("yes", digits,
weekdays, "please call me back") are mixed in so a caller who says something else still
comes out as plausible words rather than the nearest persona phrase.

Files are written once to a cache directory keyed by a hash of the corpus, atomically,
so concurrent workers can share them. Words the pronunciation dictionary lacks would
make pocketsphinx refuse or mis-score the model, so they are dropped and reported in
`LanguageModel.dropped` for the caller to log (the recogniser does, in the agent process).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GENERAL_PHRASES: tuple[str, ...] = (
    "yes",
    "yes please",
    "no",
    "no thanks",
    "okay",
    "hello",
    "hi",
    "thank you",
    "thanks",
    "goodbye",
    "bye",
    "sorry",
    "my name is",
    "my number is",
    "please call me back",
    "call me back",
    "i need an appointment",
    *["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"],
    *["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    *["today", "tomorrow", "morning", "afternoon", "evening"],
)
"""Sentences any caller may say, whatever the persona."""

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^a-z' ]+")


def number_words(number: int) -> str:
    """Spell an integer the way a caller says it ("120" -> "one hundred twenty")."""
    if number < 10:
        return _ONES[number]
    if number < 20:
        return _TEENS[number - 10]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + ("" if rest == 0 else " " + number_words(rest))
    # Longer numbers (phone numbers) are read digit by digit.
    return " ".join(_ONES[int(d)] for d in str(number))


def normalize(text: str) -> str:
    """Lower-case words with digits spelled out and punctuation removed, one space apart."""
    text = _NUMBER.sub(lambda m: f" {number_words(int(m.group()))} ", text.lower())
    text = text.replace("’", "'")
    words = [w.strip("'") for w in _NOT_WORD.sub(" ", text).split()]
    return " ".join(w for w in words if w)


def model_dir() -> Path:
    """The pocketsphinx en-us model directory (acoustic model and dictionary)."""
    from pocketsphinx import get_model_path

    return Path(get_model_path()) / "en-us"


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/dialtone/pocketsphinx`, or under the temp dir if HOME is unusable."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if base.startswith("~"):
        base = tempfile.gettempdir()
    return Path(base) / "dialtone" / "pocketsphinx"


@lru_cache(maxsize=4)
def read_dictionary(path: Path) -> dict[str, tuple[str, ...]]:
    """Every word of a CMU-style dictionary with its pronunciation lines ("word(2) ...")."""
    entries: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as file:
        for line in file:
            head, _, _ = line.partition(" ")
            if head:
                entries.setdefault(head.split("(", 1)[0], []).append(line.rstrip("\n"))
    return {word: tuple(lines) for word, lines in entries.items()}


@dataclass(frozen=True)
class LanguageModel:
    """Paths of a built model and what went into it."""

    lm_path: Path
    dict_path: Path
    vocabulary: frozenset[str]
    dropped: frozenset[str]
    """Words of the phrases that the pronunciation dictionary does not know."""


def corpus_sentences(phrases: Iterable[str], *, general: bool = True) -> list[str]:
    """Normalised, de-duplicated training sentences: the phrases, then the general ones."""
    sources = [*phrases, *(GENERAL_PHRASES if general else ())]
    return list(dict.fromkeys(s for s in (normalize(p) for p in sources) if s))


def build_language_model(
    phrases: Sequence[str],
    *,
    cache_dir: Path | None = None,
    dictionary: Path | None = None,
    general: bool = True,
) -> LanguageModel:
    """Build (or reuse) an ARPA trigram model and a trimmed dictionary for `phrases`.

    The trimmed dictionary holds only the model's words, which makes each decoder start
    in a fraction of the time the full 130k-word dictionary takes.
    """
    from pocketsphinx.lm import ArpaBoLM

    dictionary = dictionary or model_dir() / "cmudict-en-us.dict"
    known = read_dictionary(dictionary)
    kept: list[str] = []
    dropped: set[str] = set()
    for sentence in corpus_sentences(phrases, general=general):
        words = sentence.split()
        dropped.update(w for w in words if w not in known)
        sentence = " ".join(w for w in words if w in known)
        if sentence:
            kept.append(sentence)
    if not kept:
        raise ValueError("no recognisable words in the phrases for the offline recogniser")
    vocabulary = frozenset(w for s in kept for w in s.split())

    corpus = "\n".join(kept) + "\n"
    key = hashlib.sha256((str(dictionary) + "\0" + corpus).encode()).hexdigest()[:16]
    directory = cache_dir or default_cache_dir()
    lm_path = directory / f"{key}.lm"
    dict_path = directory / f"{key}.dict"
    if not (lm_path.exists() and dict_path.exists()):
        directory.mkdir(parents=True, exist_ok=True)
        model = ArpaBoLM(text=corpus, add_start=True)
        model.compute()
        arpa = io.StringIO()
        model.write(arpa)
        lines = [line for word in sorted(vocabulary) for line in known[word]]
        _write_atomic(dict_path, "\n".join(lines) + "\n")
        _write_atomic(lm_path, arpa.getvalue())
    return LanguageModel(lm_path, dict_path, vocabulary, frozenset(dropped))


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temp file and rename, so a reader never sees half a model."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
