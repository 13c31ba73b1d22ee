"""Is each persona's voice one the speech engine has: checked at load and by `doctor`.

A voice espeak-ng does not have fails every sentence of every call (the caller hears
silence, the log fills with tracebacks) and a voice OpenAI does not offer fails the
same way on the cloud profile; neither shows in a persona's YAML validation, which
knows no engine. So the worker checks them before it registers, and `dialtone doctor`
reports them, each with the close names the engine does have.

espeak-ng voices are `language[+variant]`: the language by its code ("en-us"), an
alternative code listed with it ("en") or its file ("gmw/en-US"), case-insensitive; the
variant by its file name ("f3", "Alex"), case-sensitive as espeak-ng reads it (an
unknown variant is silently ignored by espeak-ng, which is worse than an error: the
persona speaks with a voice nobody chose).
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from .config import Profile, Settings
from .offline.espeak import ESPEAK
from .personas import Persona, PersonaBook, PersonaError

#: The voices OpenAI's speech endpoint offers for its current models (gpt-4o-mini-tts);
#: an OpenAI-compatible server (OPENAI_BASE_URL) may have others and is not checked.
OPENAI_VOICES = frozenset(
    {
        "alloy",
        "ash",
        "ballad",
        "cedar",
        "coral",
        "echo",
        "fable",
        "marin",
        "nova",
        "onyx",
        "sage",
        "shimmer",
        "verse",
    }
)
_OTHER_LANGUAGE = re.compile(r"\((\S+) \d+\)")


@dataclass(frozen=True, kw_only=True)
class EspeakVoices:
    """What the installed espeak-ng has: languages (lower-case) and variant files."""

    languages: frozenset[str]
    variants: frozenset[str]

    def problem(self, voice: str) -> str | None:
        """Why espeak-ng cannot speak `voice`, naming close ones; None when it can."""
        language, plus, variant = voice.strip().partition("+")
        if language.lower() not in self.languages:
            return f"espeak-ng has no voice {language!r}{_close(language.lower(), self.languages)}"
        if plus and variant not in self.variants:
            return f"espeak-ng has no variant {variant!r}{_close(variant, self.variants)}"
        return None


def _close(word: str, known: frozenset[str]) -> str:
    near = difflib.get_close_matches(word, sorted(known), n=4, cutoff=0.5)
    if not near:  # "english-female-9": the ones sharing its first letters ("en...")
        near = sorted((k for k in known if "/" not in k and k[:2] == word[:2]), key=len)[:4]
    return f" (close: {', '.join(near)})" if near else " (`espeak-ng --voices` lists them)"


def _listing(*args: str) -> str:
    done = subprocess.run([ESPEAK, *args], capture_output=True, text=True, timeout=10)
    return done.stdout


@lru_cache(maxsize=1)
def espeak_voices() -> EspeakVoices | None:
    """The installed espeak-ng's voices, or None when espeak-ng is not installed."""
    if shutil.which(ESPEAK) is None:
        return None
    languages: set[str] = set()
    for line in _listing("--voices").splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        file = fields[4].lower()
        languages |= {fields[1].lower(), file, file.rpartition("/")[2]}
        languages |= {code.lower() for code in _OTHER_LANGUAGE.findall(line)}
    variants: set[str] = set()
    for line in _listing("--voices=variant").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5 and fields[4].startswith("!v/"):
            variants.add(fields[4].removeprefix("!v/"))
    return EspeakVoices(languages=frozenset(languages), variants=frozenset(variants))


def persona_voice_problems(persona: Persona, settings: Settings) -> list[str]:
    """Each voice of `persona` its engine does not have, as `persona P: voice.X ...`.

    The offline voice is checked on every profile (it is the cloud profile's last
    fallback too); the cloud voice only on the cloud profile, with OpenAI itself.
    Raises ConfigError for half a set of provider keys (`resolved_profile`).
    """
    problems = []
    catalog = espeak_voices()
    if catalog is not None:  # not installed: the offline profile's own check says so
        problem = catalog.problem(persona.voice.offline)
        if problem is not None:
            problems.append(f"persona {persona.name!r}: voice.offline: {problem}")
    cloud = (settings.tts_voice or persona.voice.cloud).strip()
    checked = settings.resolved_profile is Profile.CLOUD and not settings.openai_base_url
    if checked and cloud.lower() not in OPENAI_VOICES:
        field = "DIALTONE_TTS_VOICE" if settings.tts_voice else "voice.cloud"
        problems.append(
            f"persona {persona.name!r}: {field}: OpenAI has no voice {cloud!r}"
            f"{_close(cloud.lower(), OPENAI_VOICES)}"
        )
    return problems


def voice_problems(book: PersonaBook, settings: Settings) -> list[str]:
    """Every persona's voice problems, in persona order."""
    return [
        p for persona in book.personas.values() for p in persona_voice_problems(persona, settings)
    ]


def check_voices(book: PersonaBook, settings: Settings) -> None:
    """Raise `PersonaError` (one line) for the first voice the engines do not have."""
    problems = voice_problems(book, settings)
    if problems:
        more = (
            f" (and {len(problems) - 1} more: dialtone doctor lists them)"
            if len(problems) > 1
            else ""
        )
        raise PersonaError(f"{problems[0]}{more}")


def check_persona_voice(persona: Persona, settings: Settings) -> None:
    """Raise `PersonaError` (one line) when `persona`'s voice is missing (a simulated or
    console call checks the one persona it plays)."""
    problems = persona_voice_problems(persona, settings)
    if problems:
        raise PersonaError(problems[0])
