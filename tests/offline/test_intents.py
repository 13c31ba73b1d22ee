"""The intent matcher: exact examples, paraphrases, and what pocketsphinx gets wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialtone.offline.intents import match_intent, score_intents, tokens
from dialtone.personas import load_persona

PERSONA = load_persona(Path(__file__).resolve().parents[2] / "personas" / "receptionist.yaml")
INTENTS = {name: intent.examples for name, intent in PERSONA.offline.intents.items()}


def intent_of(text: str) -> str | None:
    found = match_intent(text, INTENTS)
    return found.intent if found else None


def test_every_example_matches_its_own_intent() -> None:
    for name, examples in INTENTS.items():
        for example in examples:
            assert intent_of(example) == name, example


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        # paraphrases and punctuation a transcript may carry
        ("What are your HOURS?", "hours"),
        ("when do you open tomorrow", "hours"),
        ("I'd like to leave a message for the doctor.", "message"),
        ("speak to someone please", "transfer"),
        ("That's all, thanks. Bye!", "goodbye"),
        ("bye bye", "goodbye"),
        # recognition errors seen on phone-band espeak callers
        ("what are you hours", "hours"),
        ("where are you located at", "address"),
        ("can i leave message", "message"),
        ("can i talk to person", "transfer"),
        ("okay bye then", "goodbye"),
    ],
)
def test_paraphrases_and_noisy_transcripts(said: str, intent: str) -> None:
    assert intent_of(said) == intent


@pytest.mark.parametrize(
    "said",
    ["", "yes", "that", "my name is john smith", "please call me back", "leave a human all"],
)
def test_unrelated_or_garbled_speech_matches_nothing(said: str) -> None:
    assert intent_of(said) is None


def test_function_words_do_not_decide() -> None:
    # "please" and "me" occur only in a transfer example; they must not make this a transfer.
    assert score_intents("please call me back", INTENTS)["transfer"] < 0.5


def test_threshold_and_contractions() -> None:
    assert tokens("That's all, 120!") == ["that", "is", "all", "one", "hundred", "twenty"]
    assert match_intent("what are your hours", INTENTS, threshold=1.01) is None
    found = match_intent("what are your hours", INTENTS)
    assert found is not None and found.score == pytest.approx(1.0)
