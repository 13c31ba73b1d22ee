"""What a call record may keep of a person: phone numbers and transcripts.

`DIALTONE_RECORD_NUMBERS` and `DIALTONE_RECORD_TRANSCRIPTS` are each `keep`, `mask` or
`drop`. The policy is applied when a record is written, in the store, so no path (the
worker, the lease reaper, LiveKit's webhook) can store more than the operator allowed,
and a masked value is never in the database to leak from a backup.

Masking a number keeps the country code's first digit and the last two digits
(`+1********00`): enough to tell calls apart in a list, not enough to call back. Masking
a transcript replaces every digit and every run of three or more spoken digit words
("five five five") with `#`: phone numbers, dates of birth, card and account numbers.
It does not find names or addresses; use `drop` when transcripts must hold nothing
personal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .models import TranscriptLine


class Keep(StrEnum):
    KEEP = "keep"
    MASK = "mask"
    DROP = "drop"


_DIGIT_WORDS = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple)"
_SPOKEN_RUN = re.compile(rf"\b{_DIGIT_WORDS}(?:[\s,-]+{_DIGIT_WORDS}){{2,}}\b", re.IGNORECASE)
_DIGIT = re.compile(r"\d")


def mask_number(number: str) -> str:
    """`+15551230042` -> `+1********42`; anything short is masked whole."""
    if len(number) <= 4:
        return "*" * len(number)
    head = 2 if number.startswith("+") else 0
    return number[:head] + "*" * (len(number) - head - 2) + number[-2:]


def mask_text(text: str) -> str:
    """Digits and spoken digit runs become `#`."""
    text = _SPOKEN_RUN.sub(lambda m: "#" * len(m.group(0).split()), text)
    return _DIGIT.sub("#", text)


@dataclass(frozen=True)
class Retention:
    numbers: Keep = Keep.KEEP
    transcripts: Keep = Keep.KEEP

    def number(self, value: str | None) -> str | None:
        if value is None or self.numbers is Keep.KEEP:
            return value
        return None if self.numbers is Keep.DROP else mask_number(value)

    def transcript(self, lines: list[TranscriptLine]) -> list[TranscriptLine] | None:
        if self.transcripts is Keep.KEEP:
            return lines
        if self.transcripts is Keep.DROP:
            return None
        return [line.model_copy(update={"text": mask_text(line.text)}) for line in lines]
