"""A simulated phone menu at the far end of a reminder call: keys move it.

The scenario's `reminder.menu` is a tree of prompts (`scenario.MenuNode`). The menu
says the root prompt when the call is answered; each key the agent sends
(`press`, what the production call does with DTMF to the callee's leg) moves to that
child and says its prompt, or says "that is not a valid choice" and repeats the
current prompt. A node with `beep: true` ends in a mailbox beep. Every prompt is
espeak-ng speech on the 8 kHz phone line, synthesized before the call starts.
"""

from __future__ import annotations

import asyncio
import contextlib

from ..simulate.call_io import CallerLine, Utterance
from .recording import CallClock
from .report import CallReport, Line
from .runner import CallerSpeech
from .scenario import MenuNode

INVALID = "sorry, that is not a valid choice"
#: With no key this long after a prompt ended, the menu says it again (twice at most).
REPEAT_AFTER_S = 4.0
REPEATS = 2


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
        self._repeat: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._say(self.node)

    async def aclose(self) -> None:
        if self._repeat is not None:
            self._repeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._repeat

    async def press(self, keys: str) -> None:
        """The agent sent `keys` (several digits: an extension) to this leg."""
        if self._repeat is not None:
            self._repeat.cancel()
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
        spoken = self._speak(node.say)
        if node.beep and self._beep is not None:
            self._line.speak(self._beep.samples, "(beep)")
        elif node.keys:  # a menu, not a person or a mailbox: it repeats itself
            self._repeat = asyncio.ensure_future(self._repeat_unanswered(node, spoken))

    async def _repeat_unanswered(self, node: MenuNode, spoken: Utterance) -> None:
        for _ in range(REPEATS):
            await spoken.done.wait()
            await asyncio.sleep(REPEAT_AFTER_S)
            if self.node is not node:
                return
            spoken = self._speak(node.say)

    def _speak(self, text: str) -> Utterance:
        speech = self._audio[text]
        utterance = self._line.speak(speech.samples, text, speech.parts)
        self._report.transcript.append(Line(self._clock.now(), "caller", text))
        return utterance
