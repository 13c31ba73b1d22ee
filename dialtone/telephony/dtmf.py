"""Keys a caller presses, and what they mean.

A caller may press 0 for a person, or a target's `extension`. Digits for a *human's*
phone menu are a different thing: they go on the human's leg only, as the `dtmf` of the
`CreateSIPParticipant` request (see `transfer.py`), so a caller on hold never hears them
(livekit/agents issue 6357: `send_dtmf` publishes to the whole room).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..personas import TransferTarget

OPERATOR_KEY = "0"


def target_for_digits(digits: str, targets: Sequence[TransferTarget]) -> TransferTarget | None:
    """The target the caller's digits select: an exact extension, or 0 for the first target."""
    digits = digits.strip().rstrip("#")
    for target in targets:
        if target.extension is not None and target.extension == digits:
            return target
    if digits == OPERATOR_KEY and targets:
        return targets[0]
    return None


class DigitBuffer:
    """Collects single key presses into an entry, ended by `#` or a complete extension."""

    def __init__(self, targets: Sequence[TransferTarget]) -> None:
        self._targets = list(targets)
        self._digits = ""
        self._longest = max((len(t.extension or "") for t in self._targets), default=1)

    def press(self, key: str) -> TransferTarget | None:
        """Add one key; return the selected target once the entry is complete."""
        if key == "*":
            self._digits = ""
            return None
        if key != "#":
            self._digits += key
        entry = self._digits
        chosen = target_for_digits(entry, self._targets)
        done = key == "#" or chosen is not None or len(entry) >= max(self._longest, 1)
        if done:
            self._digits = ""
        return chosen
