"""A simulated phone menu at the far end of a reminder call: keys move it.

The scenario's `reminder.menu` is a tree of prompts (`scenario.MenuNode`). The menu
says the root prompt when the call is answered; each key the agent sends
(`press`, what the production call does with DTMF to the callee's leg) moves to that
child and says its prompt, or says "that is not a valid choice" and repeats the
current prompt. A node with `beep: true` ends in a mailbox beep. Every prompt is
espeak-ng speech on the 8 kHz phone line, synthesized before the call starts.
"""

from __future__ import annotations

from ..simulate.call_io import CallerLine
from .recording import CallClock
from .report import CallReport, Line
from .runner import CallerSpeech
from .scenario import MenuNode

INVALID = "sorry, that is not a valid choice"


def menu_texts(root: MenuNode) -> list[str]:
    """Every prompt of the tree, and the invalid-key line, to synthesize up front."""
    texts = [INVALID]
    stack = [root]
    while stack:
        node = stack.pop()
        texts.append(node.say)
        stack.extend(node.keys.values())
    return list(dict.fromkeys(texts))


class SimulatedMenu:
    """The menu's state on one call (see the module docstring)."""

    def __init__(
        self,
        root: MenuNode,
        audio: dict[str, CallerSpeech],
        *,
        line: CallerLine,
        clock: CallClock,
        report: CallReport,
        beep: CallerSpeech | None = None,
    ) -> None:
        self.node = root
        self._audio = audio
        self._line = line
        self._clock = clock
        self._report = report
        self._beep = beep

    def start(self) -> None:
        self._say(self.node)

    async def press(self, keys: str) -> None:
        """The agent sent `keys` (several digits: an extension) to this leg."""
        self._report.keys_sent.append(keys)
        self._report.transcript.append(Line(self._clock.now(), "agent", f"(keys {keys})"))
        child = self.node.keys.get(keys)
        if child is None:
            self._speak(INVALID)
            self._say(self.node)
            return
        self.node = child
        self._say(child)

    def _say(self, node: MenuNode) -> None:
        self._speak(node.say)
        if node.beep and self._beep is not None:
            self._line.speak(self._beep.samples, "(beep)")

    def _speak(self, text: str) -> None:
        speech = self._audio[text]
        self._line.speak(speech.samples, text, speech.parts)
        self._report.transcript.append(Line(self._clock.now(), "caller", text))
