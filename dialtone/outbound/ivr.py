"""Through a phone menu to the person: which key, when to give up.

A reminder to a care home, an office or a relative's business line meets a menu ("for
reception, press one"). The persona's `reminder.menu_target` says what to reach ("the
front desk", or an extension from the contact's variables such as `{extension}`). The
agent listens to the whole menu, sends the key for the option whose words best match
the target (or the extension's digits where the menu takes extensions, or the
operator's key when nothing matches, or English in a language menu), says nothing
after the keys, and listens again.

It gives up (`ivr_failed`) when a menu offers nothing to press towards the target, when
the same menu comes back a third time (a loop, or keys the menu did not take), after
`MAX_KEYS` key presses, or when nothing answers after the keys. Key choice is plain
rules, not a model, so it is the same in both profiles and in tests.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field

from ..campaigns.models import Outcome
from .answering import AnswerClass, Verdict
from .conversation import GREETING_SETTLE_S, AnswerHooks, Conversation
from .dial import ReportedOutcome
from .screening import after_screener

logger = logging.getLogger("dialtone.reminder")

_DIGITS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "star": "*",
    "pound": "#",
    "hash": "#",
}
_KEY = r"(\d|zero|oh|one|two|three|four|five|six|seven|eight|nine|star|pound|hash)"
_LEAD = r"(?:for|to reach|to speak to|to speak with|to talk to|if you want|if you need)"
#: An option's words: no "for", "press" or "to reach" inside (the shortest span).
_WORDS = r"((?:(?!\bfor\b|\bpress\b|\bto reach\b)[a-z' ])+?)"
_OPTION_THEN_KEY = re.compile(rf"{_LEAD} {_WORDS},? (?:please )?press {_KEY}\b")
_KEY_THEN_OPTION = re.compile(
    rf"press {_KEY} (?:for|to reach|to speak to) {_WORDS}(?=[,.]|$| press)"
)
_OPERATOR = re.compile(r"operator|all other|reception|front desk|someone|a person|main office")
#: A language menu ("for English, press one; para español, oprima dos") leads on to
#: the real menu: its English option (the reminders are in English) is taken when
#: nothing else fits.
_LANGUAGE = re.compile(r"\benglish\b")
_TAKES_EXTENSION = re.compile(r"extension|dial it|enter the")
_STOP = frozenset(
    {"the", "a", "an", "to", "for", "of", "my", "your", "our", "please", "reach", "speak", "with"}
)
#: Key presses on one call before giving up.
MAX_KEYS = 4
#: The same menu heard this many times: a loop (or keys it did not take).
LOOP_AFTER = 3
#: The whole walk, from the menu's first word to the person.
MENU_BOUND_S = 90.0
#: How long a menu may stay quiet before it says itself again.
REPEAT_WITHIN_S = 8.0


def menu_options(text: str) -> dict[str, str]:
    """Option words -> key, from a menu's words ("for billing press two" -> billing: 2).

    Recognised speech has no punctuation, so "for billing press two for the front desk
    press one" reads both ways round; menus mostly say "for X, press N", so that
    reading wins and "press N for X" is only used when there is no other.
    """
    said = text.lower()
    options: dict[str, str] = {}
    for match in _OPTION_THEN_KEY.finditer(said):
        options.setdefault(match.group(1).strip(), _key(match.group(2)))
    if not options:
        for match in _KEY_THEN_OPTION.finditer(said):
            options.setdefault(match.group(2).strip(), _key(match.group(1)))
    return options


def _key(word: str) -> str:
    return _DIGITS.get(word, word)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if w not in _STOP}


def choose_key(text: str, target: str) -> str | None:
    """The keys to send for `target` in this menu, or None (nothing leads there)."""
    digits = re.sub(r"\D", "", target)
    if digits and digits == re.sub(r"[\s-]", "", target) and _TAKES_EXTENSION.search(text.lower()):
        return digits
    options = menu_options(text)
    wanted = _words(target)
    best, score = None, 0.0
    for option, key in options.items():
        overlap = len(wanted & _words(option)) / max(1, len(wanted))
        if overlap > score:
            best, score = key, overlap
    if best is not None:
        return best
    operator = next((key for option, key in options.items() if _OPERATOR.search(option)), None)
    if operator is not None:
        return operator
    return next((key for option, key in options.items() if _LANGUAGE.search(option)), None)


@dataclass
class MenuNavigator:
    """One call's walk through a menu tree (see the module docstring)."""

    target: str
    max_keys: int = MAX_KEYS
    sent: list[str] = field(default_factory=list)
    #: Why it gave up (set when `next_keys` returns None).
    why: str = ""
    _seen: dict[frozenset[tuple[str, str]], int] = field(default_factory=dict)

    def next_keys(self, menu: str) -> str | None:
        """The keys for this menu; None with `why` set when it is time to give up."""
        self.why = ""
        signature = frozenset(menu_options(menu).items())
        if signature:
            self._seen[signature] = self._seen.get(signature, 0) + 1
            if self._seen[signature] >= LOOP_AFTER:
                self.why = f"the same menu came back {LOOP_AFTER} times (keys {self.keys})"
                return None
        if len(self.sent) >= self.max_keys:
            self.why = f"still in the menu after {len(self.sent)} keys ({self.keys})"
            return None
        keys = choose_key(menu, self.target)
        if keys is None:
            self.why = f"no option leads to {self.target!r}"
            return None
        self.sent.append(keys)
        return keys

    def heard_twice(self, menu: str) -> bool:
        """True once this menu's options have been heard twice already."""
        return self._seen.get(frozenset(menu_options(menu).items()), 0) >= 2

    @property
    def keys(self) -> str:
        return " ".join(self.sent) or "none"


async def through_menu(
    agent: Conversation, first: Verdict, hooks: AnswerHooks, target: str
) -> ReportedOutcome:
    """A phone menu answered: walk it to `target`, then talk to whoever is there."""
    assert hooks.menu is not None and hooks.send_keys is not None
    navigator = MenuNavigator(target=target)
    try:
        async with asyncio.timeout(MENU_BOUND_S):
            return await _walk(agent, first, hooks, navigator)
    except TimeoutError:
        return ReportedOutcome(
            Outcome.IVR_FAILED,
            f"phone menu: not through after {MENU_BOUND_S:.0f} s (keys {navigator.keys})",
        )


async def _walk(
    agent: Conversation, verdict: Verdict, hooks: AnswerHooks, navigator: MenuNavigator
) -> ReportedOutcome:
    assert hooks.menu is not None and hooks.send_keys is not None
    heard = verdict.transcript
    while True:
        # The menu's own words once it has finished, else what decided it was a menu.
        heard = (await hooks.menu(False)).strip() or heard
        keys = navigator.next_keys(heard)
        if keys is None and not navigator.heard_twice(heard):
            # Nothing fits yet: a misheard option, or a menu cut short. Menus say
            # themselves again when no key comes; listen once more before giving up.
            again = (await hooks.menu(True)).strip()
            if again:
                heard = f"{heard} {again}"
                keys = navigator.next_keys(heard)
        logger.info("phone menu said %r: keys %s", heard, keys or f"none ({navigator.why})")
        if keys is None:
            return ReportedOutcome(Outcome.IVR_FAILED, f"phone menu: {navigator.why}")
        await hooks.send_keys(keys)  # and nothing said after them
        verdict = await hooks.listen()
        how = f"through the menu (keys {navigator.keys})"
        if verdict.answer is AnswerClass.IVR:
            heard = verdict.transcript
            continue
        if verdict.answer is AnswerClass.UNSURE:
            return ReportedOutcome(
                Outcome.IVR_FAILED, f"phone menu: nothing answered after keys {navigator.keys}"
            )
        if verdict.answer is AnswerClass.VOICEMAIL:
            if verdict.unavailable:
                return ReportedOutcome(Outcome.VOICEMAIL, f"{how}, then a full mailbox")
            beeped = await hooks.beep()
            await agent.leave_voicemail()
            after = "after the beep" if beeped else "no beep heard; after the greeting"
            return ReportedOutcome(
                Outcome.VOICEMAIL, f"{how}, then voicemail: message left ({after})"
            )
        if verdict.answer is AnswerClass.SCREENING:
            result = await after_screener(agent, hooks)
            return ReportedOutcome(result.outcome, f"{how}, {result.detail}")
        if not verdict.transcript.strip():  # their words may still be on their way
            await agent.greeting_settled(GREETING_SETTLE_S)
        agent.deliver()
        await hooks.conversation()
        result = agent.result()
        return ReportedOutcome(result.outcome, f"{how}: {result.detail}")
