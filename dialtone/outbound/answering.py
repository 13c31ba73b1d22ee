"""Who answered a reminder call: a person, a voicemail box, a call screener or a phone menu.

livekit-agents' answering-machine detection (`voice.amd.AMD`) knows four machine
labels, and it files a call screener ("the person you're calling is using a screening
service... say your name and why you're calling") under `machine-ivr`. A screened
person is exactly who a reminder must reach, so dialtone decides on top of it, from
three sources, whichever is sure first:

- the phrases heard (`phrase_cue`): a screener's request for a name and reason, a
  menu's "press 1", a mailbox's "after the tone", a full mailbox;
- the beep detector (`voicemail.BeepDetector`): a steady tone is a mailbox;
- AMD's verdict: its timing rules (a short "hello?" then silence is a person) and its
  classifier (the cloud LLM, or the offline phrase rules).

A long greeting would otherwise be decided only once it ends (AMD waits for the end
of the turn; the offline recogniser only decodes a finished utterance), which for a
ten-second screener prompt is ten seconds of dead air. `EarlyLook` decodes the start
of the greeting while it is still being spoken, at a few fixed points after speech
began, so a cue is found seconds earlier. Time to decide is measured from the far
end's first speech (the session's VAD) to the verdict, with an injectable clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger("dialtone.reminder")

Clock = Callable[[], float]
Int16Array = npt.NDArray[np.int16]


class AnswerClass(StrEnum):
    """Who answered (stored on the call record as `answer`)."""

    HUMAN = "human"
    VOICEMAIL = "voicemail"
    SCREENING = "screening"
    IVR = "ivr"
    UNSURE = "unsure"


# --- phrase cues ------------------------------------------------------------------------
# Written from public descriptions of Google Call Screen / Call Assist, iOS screening,
# carrier voicemail greetings and business phone menus. Each is a phrase a person who
# picks up their own phone does not say.

_SCREENING = re.compile(
    r"screening (service|call)|call screen|being screened|screen(s|ed)? (this|your|the) call|"
    r"(say|state|record|tell me|give) your name|your name and (the )?(reason|why|purpose)|"
    r"reason for (your )?call|why (you're|you are|your) calling|"
    r"what (you're|you are|your|are you) calling about|"
    r"see if (this|the) person is available|call assist|"
    r"(you're|you are|your) calling is using|is using a (call )?screening",
    re.IGNORECASE,
)
_UNAVAILABLE = re.compile(
    r"mailbox (is )?full|(has )?not (been )?set up|cannot accept|can not accept|"
    r"no longer in service|not accepting (any )?(new )?messages",
    re.IGNORECASE,
)
#: Once a mailbox says this, a "press 1 for more options" after it is still a mailbox.
_RECORD_NOW = re.compile(r"(after|at) the (tone|beep)|record your message", re.IGNORECASE)
_VOICEMAIL = re.compile(
    r"leave (a|your) (message|name|number)|voice ?mail|voice message|message system|"
    r"mailbox|not available|unavailable|"
    r"can('|no)?t (take|come|get|answer)( to)? (your|the|my) (call|phone)|"
    r"missed your call|away from (my|the) (desk|phone)|get back to you|call you back|"
    r"you('ve| have)? reached (the )?(voice|mail)|forwarded to an",
    re.IGNORECASE,
)
_IVR = re.compile(
    r"\bpress\b|para espa|main menu|extension|dial by name|dial it|directory|"
    r"(following|these|menu) options|(repeat|hear) (these|the|this) (options|menu)|"
    r"menu (options )?ha(ve|s) changed|listen (carefully )?to (the|our|these) (options|menu)",
    re.IGNORECASE,
)


@dataclass(frozen=True, kw_only=True)
class Cue:
    """What a phrase says about who answered; `unavailable`: a mailbox that takes none."""

    answer: AnswerClass
    unavailable: bool = False


def phrase_cue(text: str) -> Cue | None:
    """The answer a greeting's words give away, or None (nothing machine-like heard).

    A screener comes first: its prompt may say "record your name", which a mailbox
    rule would take. A mailbox that says "record your message" stays a mailbox even if
    it also offers "press 1 for more options".
    """
    if not text.strip():
        return None
    if _SCREENING.search(text):
        return Cue(answer=AnswerClass.SCREENING)
    if _UNAVAILABLE.search(text):
        return Cue(answer=AnswerClass.VOICEMAIL, unavailable=True)
    if _RECORD_NOW.search(text):
        return Cue(answer=AnswerClass.VOICEMAIL)
    if _IVR.search(text):
        return Cue(answer=AnswerClass.IVR)
    if _VOICEMAIL.search(text):
        return Cue(answer=AnswerClass.VOICEMAIL)
    return None


#: A person who picks up says a few words; a greeting longer than this with no cue is a
#: machine, told apart by the words it is made of (`weak_vote`).
LONG_GREETING_S = 3.0
_WEAK = {
    AnswerClass.IVR: re.compile(
        r"\b(press|extension|menu|options?|dial|directory|department|enter|"
        r"one|two|three|four|five|six|seven|eight|nine|zero|star|pound|reception)\b",
        re.IGNORECASE,
    ),
    AnswerClass.VOICEMAIL: re.compile(
        r"\b(message|tone|beep|reached|available|record|leave|mailbox|voicemail|"
        r"missed|back|sorry|right now)\b",
        re.IGNORECASE,
    ),
    AnswerClass.SCREENING: re.compile(
        r"\b(screening|reason|why|name and|calling about|who is calling)\b", re.IGNORECASE
    ),
}


#: Said by machines, never by a person picking up their own phone: with these words a
#: greeting AMD calls human is judged by its words instead.
_NOT_A_PERSON = re.compile(r"you('ve| have)? reached", re.IGNORECASE)


def weak_vote(text: str) -> AnswerClass:
    """A long greeting's most likely machine, by the words heard (UNSURE: none of them)."""
    votes = {answer: len(rule.findall(text)) for answer, rule in _WEAK.items()}
    best = max(votes, key=lambda answer: votes[answer])
    return best if votes[best] > 0 else AnswerClass.UNSURE


#: AMD label (`AMDCategory` value) -> our answer (a screener is refined by its words).
_FROM_AMD = {
    "human": AnswerClass.HUMAN,
    "machine-vm": AnswerClass.VOICEMAIL,
    "machine-unavailable": AnswerClass.VOICEMAIL,
    "machine-ivr": AnswerClass.IVR,
    "uncertain": AnswerClass.UNSURE,
}


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """Who answered, what gave it away, and how long it took after they began to speak.

    `decided_after_s` is None when nobody spoke (AMD's no-speech timeout, a hang-up).
    `heard_after_s`: how much of the far end's speech the deciding evidence covered.
    It is `decided_after_s` but for an early look's cue, whose audio ended when the look
    began: the difference is the recogniser's decoding time, which grows with the
    machine's load (`bench/amd.py` prints both).
    """

    answer: AnswerClass
    by: str  # "phrases", "beep", "amd:<reason>"
    transcript: str = ""
    unavailable: bool = False
    decided_after_s: float | None = None
    heard_after_s: float | None = None
    amd_label: str | None = None


def long_greeting(label: str, speech_s: float) -> bool:
    """AMD called it a person, but it spoke longer than a person picking up does."""
    return label == "human" and speech_s > LONG_GREETING_S


def from_amd(label: str, reason: str, transcript: str, speech_s: float = 0.0) -> Verdict:
    """AMD's verdict in our terms, with its transcript's cue taking precedence.

    AMD calls "human" whatever its classifier does not recognise as a machine; a
    greeting of more than `LONG_GREETING_S` of speech, or one saying "you've reached",
    is not a person saying hello, so its words decide (`weak_vote`), and "unsure"
    when they say nothing.
    """
    cue = phrase_cue(transcript)
    if cue is not None and (label != "human" or cue.answer is not AnswerClass.VOICEMAIL):
        return Verdict(
            answer=cue.answer,
            by="phrases",
            transcript=transcript,
            unavailable=cue.unavailable,
            amd_label=label,
        )
    if long_greeting(label, speech_s) or (label == "human" and _NOT_A_PERSON.search(transcript)):
        return Verdict(
            answer=weak_vote(transcript), by="long greeting", transcript=transcript, amd_label=label
        )
    return Verdict(
        answer=_FROM_AMD.get(label, AnswerClass.UNSURE),
        by=f"amd:{reason}",
        transcript=transcript,
        unavailable=label == "machine-unavailable",
        amd_label=label,
    )


# --- the early look -------------------------------------------------------------------

Recognize = Callable[[Int16Array, int], Awaitable[str]]
#: The first look, in seconds after speech began (less holds too few words to tell).
FIRST_LOOK_S = 0.9
#: At least this long between the starts of two looks.
LOOK_EVERY_S = 0.3
#: No looks after this much speech: the greeting's end (AMD, the final transcript) decides.
LAST_LOOK_S = 8.0
#: Audio kept from before the VAD's start of speech (its onset comes a little late).
LEAD_S = 0.5
_MAX_BUFFER_S = 20.0


class EarlyLook:
    """Decodes the greeting so far, again and again while it is spoken; calls `on_text`
    with the words and the time (`clock`) the decoded audio ended, i.e. the look began.

    Feed it the callee's frames (`push`) and the VAD's start of speech
    (`speech_started`). Looks start `FIRST_LOOK_S` after speech began and follow each
    other as fast as the call's own recogniser (`recognize`) returns, one at a time,
    at most every `LOOK_EVERY_S`: a cue is found one decode after it was spoken.
    """

    def __init__(
        self,
        *,
        recognize: Recognize,
        on_text: Callable[[str, float], None],
        clock: Clock = time.monotonic,
        first_s: float = FIRST_LOOK_S,
        every_s: float = LOOK_EVERY_S,
        last_s: float = LAST_LOOK_S,
    ) -> None:
        self._recognize = recognize
        self._on_text = on_text
        self._clock = clock
        self._first_s = first_s
        self._every_s = every_s
        self._last_s = last_s
        self._chunks: list[Int16Array] = []
        self._samples = 0
        self._rate: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._from = 0
        self.speech_at: float | None = None
        self.stopped = False

    def push(self, samples: Int16Array, sample_rate: int) -> None:
        if self.stopped:
            return
        if self._rate is None:
            self._rate = sample_rate
        if sample_rate != self._rate:
            return
        if self._samples > _MAX_BUFFER_S * sample_rate:
            return
        self._chunks.append(samples.copy())
        self._samples += samples.size

    def speech_started(self) -> None:
        if self.speech_at is not None or self.stopped:
            return
        self.speech_at = self._clock()
        # Decode from just before the VAD heard speech: the quiet line before it is
        # decoding time for nothing (a few seconds of ringback-free silence, at times).
        lead = round(LEAD_S * (self._rate or 0))
        self._from = max(0, self._samples - lead)
        self._task = asyncio.ensure_future(self._looks())

    async def _looks(self) -> None:
        assert self.speech_at is not None
        at = self.speech_at + self._first_s
        while at <= self.speech_at + self._last_s:
            delay = at - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            at = max(at + self._every_s, self._clock())
            if self.stopped or not self._chunks or self._rate is None:
                return
            audio = np.concatenate(self._chunks)[self._from :]
            ends_at = self._clock()
            try:
                text = await self._recognize(audio, self._rate)
            except Exception as exc:  # a look is an optimisation: the verdict still comes
                logger.warning("early look failed: %s", exc)
                return
            if self.stopped:
                return
            logger.debug("early look at %.1fs: %r", self._clock() - self.speech_at, text)
            self._on_text(text, ends_at)

    @property
    def fed(self) -> bool:
        """Whether it holds any of the far end's audio since speech began."""
        return self._rate is not None and self._samples > self._from

    async def words_so_far(self) -> str:
        """Everything this look was fed, decoded once now ("" if nothing or it fails).

        A later round's final transcripts may hold words said before it (the menu prompt
        the keys answered, arriving late or cut short); this look was fed only the
        round's own audio.
        """
        if not self._chunks or self._rate is None:
            return ""
        audio = np.concatenate(self._chunks)[self._from :]
        try:
            return await self._recognize(audio, self._rate)
        except Exception as exc:
            logger.warning("decoding the round's own audio failed: %s", exc)
            return ""

    async def aclose(self) -> None:
        self.stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


# --- one round of listening -----------------------------------------------------------


class AnswerRound:
    """One decision: the first sure source wins (see the module docstring).

    The glue calls `speech_started` (VAD), `heard` (any transcript: a final one, an
    early look's), `beep` (the detector heard a tone) and `amd` (AMD's verdict); the
    round's `decided` future holds the `Verdict`. Only a machine cue decides from
    words alone: "a person" is AMD's to say, from timing and the whole greeting.
    """

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self.speech_at: float | None = None
        self.decided: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._heard: list[str] = []
        self._early_cue: Cue | None = None

    @property
    def done(self) -> bool:
        return self.decided.done()

    def speech_started(self) -> None:
        if self.speech_at is None:
            self.speech_at = self._clock()

    def _elapsed(self) -> float | None:
        if self.speech_at is None:
            return None
        return max(0.0, self._clock() - self.speech_at)

    def _settle(self, verdict: Verdict) -> None:
        if self.decided.done():
            return
        if verdict.heard_after_s is None:
            verdict = replace(verdict, heard_after_s=verdict.decided_after_s)
        logger.info(
            "answered by %s (%s, %.2fs after speech)",
            verdict.answer.value,
            verdict.by,
            verdict.decided_after_s if verdict.decided_after_s is not None else -1.0,
        )
        self.decided.set_result(verdict)

    def heard(self, text: str) -> None:
        """A final transcript: its cue decides."""
        if self.done or not text.strip():
            return
        self._heard.append(text)
        self._cue(text, phrase_cue(text))

    def heard_all(self, text: str) -> None:
        """Everything the round has heard, decoded again from its own audio: it replaces
        what was heard before (each decode holds the ones before it)."""
        if self.done or not text.strip():
            return
        self._heard = [text]
        self._cue(text, phrase_cue(text))

    def looked(self, text: str, ends_at: float | None = None) -> None:
        """An early look's words: a cue decides once the decoder has moved past it.

        A decode of half a sentence is a guess whose newest words the next, longer
        decode often revises ("reach screening" becomes "reach the front desk"). So a
        cue counts when it holds without the last `SETTLED_WORDS` words, or when two
        looks in a row give it; one more look costs a few hundred milliseconds, a
        wrong answer costs the call. `ends_at`: when the decoded audio ended.
        """
        if self.done:
            return
        cue = phrase_cue(text)
        previous, self._early_cue = self._early_cue, cue
        if cue is None:
            return
        settled = " ".join(text.split()[:-SETTLED_WORDS])
        if cue == previous or phrase_cue(settled) == cue:
            self._cue(text, cue, ends_at)

    def _cue(self, text: str, cue: Cue | None, ends_at: float | None = None) -> None:
        if cue is None:
            return
        heard = None
        if ends_at is not None and self.speech_at is not None:
            heard = max(0.0, ends_at - self.speech_at)
        self._settle(
            Verdict(
                answer=cue.answer,
                by="phrases",
                transcript=text,
                unavailable=cue.unavailable,
                decided_after_s=self._elapsed(),
                heard_after_s=heard,
            )
        )

    def beep(self) -> None:
        self._settle(
            Verdict(
                answer=AnswerClass.VOICEMAIL,
                by="beep",
                transcript=" ".join(self._heard),
                decided_after_s=self._elapsed(),
            )
        )

    def amd(self, label: str, reason: str, transcript: str, speech_s: float = 0.0) -> None:
        verdict = from_amd(label, reason, transcript or " ".join(self._heard), speech_s)
        elapsed = self._elapsed()
        self._settle(
            Verdict(
                answer=verdict.answer,
                by=verdict.by,
                transcript=verdict.transcript,
                unavailable=verdict.unavailable,
                decided_after_s=elapsed,
                amd_label=label,
            )
        )

    def nobody(self, why: str) -> None:
        """The far end hung up, or said nothing at all."""
        self._settle(Verdict(answer=AnswerClass.UNSURE, by=why, transcript=" ".join(self._heard)))


#: An early look's newest words are its least sure (see `AnswerRound.looked`).
SETTLED_WORDS = 1
#: How long a timing-only "person" verdict waits, at most, for words that may
#: contradict it (it stops waiting once they have arrived).
SHORT_GREETING_CONFIRM_S = 0.4
#: ...and at least this long, so a far end that goes on after a short pause (a screener's
#: "Hi, ... if you record your name") is heard talking again first.
SHORT_GREETING_MIN_S = 0.2


async def await_amd(
    round_: AnswerRound,
    execute: Callable[[], Awaitable[Any]],
    *,
    talking: Callable[[], bool] = lambda: False,
    fall_back: Callable[[], None] = lambda: None,
    words: asyncio.Event | None = None,
    decode: Callable[[], Awaitable[str | None]] | None = None,
) -> None:
    """Feed AMD's verdict into the round (a closed AMD settles nothing).

    "Hello?" then silence is decided by AMD on timing before any words; a screener
    that paused after "Go ahead," looks the same. So that verdict waits for the words
    already on their way, and is dropped if the far end is talking again by then
    (`talking`): a person who said hello waits for an answer, a machine goes on. Then
    `fall_back` lets the round decide without AMD, as later rounds do.

    Every moment of that wait is dead air to a person who said "Hello?", so it ends
    as soon as the words are known, whichever way comes first: `words` (set once the
    latest utterance's final transcript has arrived), or `decode` (the round's own
    audio decoded now; None when it has none), which also answers when the recogniser
    found no words and so sends no transcript. `SHORT_GREETING_CONFIRM_S` at most.
    """
    try:
        result = await execute()
    except RuntimeError:  # closed before a verdict: the round was decided elsewhere
        return
    if result.category.value == "human" and result.reason == "short_greeting":
        loop = asyncio.get_running_loop()
        until = loop.time() + SHORT_GREETING_MIN_S
        await _words_in(round_, words, decode)
        if not round_.done and (rest := until - loop.time()) > 0:
            await asyncio.sleep(rest)
        if round_.done:
            return  # the words held a machine's cue
        if talking():
            fall_back()
            return
    transcript = result.transcript
    if (
        long_greeting(result.category.value, result.speech_duration)
        and decode is not None
        and (whole := await decode())
    ):
        # A long greeting AMD calls a person is judged by its words (`from_amd`). The
        # final transcripts hold it in the pieces the VAD cut, each decoded without
        # the others, and where it cuts moves with the machine's load; decoded in one
        # piece the words are better, and the same from one call to the next.
        round_.heard_all(whole)
        if round_.done:
            return  # the whole greeting held a machine's cue
        transcript = whole
    round_.amd(result.category.value, result.reason, transcript, result.speech_duration)


async def _words_in(
    round_: AnswerRound,
    words: asyncio.Event | None,
    decode: Callable[[], Awaitable[str | None]] | None,
) -> None:
    """Return once the latest words are known (see `await_amd`), or after the cap.

    Words already in need no decode: one started would run to its end in the
    recogniser even if no longer awaited (the cloud's is a paid request)."""
    if words is not None and words.is_set():
        return

    async def decoded() -> None:
        assert decode is not None
        text = await decode()
        if text is None:  # no audio to decode: only the transcript or the cap can tell
            await asyncio.sleep(SHORT_GREETING_CONFIRM_S)
            return
        round_.heard_all(text)

    waits: list[asyncio.Future[Any]] = []
    if words is not None:
        waits.append(asyncio.ensure_future(words.wait()))
    if decode is not None:
        waits.append(asyncio.ensure_future(decoded()))
    if not waits:
        await asyncio.sleep(SHORT_GREETING_CONFIRM_S)
        return
    try:
        await asyncio.wait(waits, timeout=SHORT_GREETING_CONFIRM_S, return_when="FIRST_COMPLETED")
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
