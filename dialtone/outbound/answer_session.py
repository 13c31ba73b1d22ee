"""`AnswerRound` wired to a live call: the session's VAD and transcripts, AMD, the beep.

The production entrypoint, the simulator and `bench/amd.py` all decide who answered
through `listen_for_answer`, so the benchmark measures the code that runs on calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession, stt
from livekit.agents.voice.events import UserInputTranscribedEvent, UserStateChangedEvent

from .answering import AnswerRound, Clock, EarlyLook, Int16Array, Recognize, Verdict, await_amd
from .voicemail import BeepDetector

#: No words at all for this long after the answer: nobody is there (AMD says the same
#: at 10 s; this bound also covers a round without AMD).
SILENCE_S = 12.0


def stt_recognizer(recognizer: stt.STT) -> Recognize:
    """An `EarlyLook` decoder over the call's own recogniser (its batch `recognize`)."""

    async def recognize(samples: Int16Array, sample_rate: int) -> str:
        frame = rtc.AudioFrame(
            data=samples.tobytes(),
            sample_rate=sample_rate,
            num_channels=1,
            samples_per_channel=samples.size,
        )
        event = await recognizer.recognize(frame)
        return event.alternatives[0].text if event.alternatives else ""

    return recognize


#: A tone this long is a mailbox's beep: it decides "voicemail" on its own and starts
#: the message. Shorter runs of a pure tone happen in synthetic or very steady voices
#: (espeak-ng's vowels); a mailbox beep lasts a quarter second or more.
MAILBOX_BEEP_S = 0.25


@dataclass
class CalleeEars:
    """Where the callee's audio frames go: the beep detector and the early look."""

    beep: BeepDetector = field(default_factory=lambda: BeepDetector(min_beep_s=MAILBOX_BEEP_S))
    early: EarlyLook | None = None

    def push(self, samples: Int16Array, sample_rate: int) -> None:
        self.beep.push(samples, sample_rate)
        if self.early is not None:
            self.early.push(samples, sample_rate)


async def listen_for_answer(
    session: AgentSession,
    *,
    ears: CalleeEars,
    amd_execute: Callable[[], Awaitable[Any]] | None,
    recognize: Recognize | None,
    gone: asyncio.Event | None = None,
    clock: Clock = time.monotonic,
    silence_s: float = SILENCE_S,
) -> Verdict:
    """One round: returns the first sure verdict (see `answering.AnswerRound`).

    `amd_execute` is AMD's `execute` (None for a round after the first: a second AMD
    on the same session is not supported, so later rounds use cues, the beep and
    the timing rule "a short utterance, then silence" alone). `gone` is set when the
    far end hangs up.
    """
    round_ = AnswerRound(clock=clock)
    early = (
        EarlyLook(recognize=recognize, on_text=round_.looked, clock=clock)
        if recognize is not None
        else None
    )
    ears.early = early
    ears.beep.reset()
    tasks: list[asyncio.Future[Any]] = []

    timing_rule = [amd_execute is None]  # "an utterance, then quiet" decides a person
    transcribed = asyncio.Event()  # the latest utterance's words have arrived
    already_talking = session.user_state == "speaking"
    # A later round (after keys, after a screener's prompt) follows earlier speech on the
    # call, and that speech's final transcripts may still be on their way: on a busy
    # machine the end of the menu prompt the keys answered arrives after the keys, and
    # its "press one" would make the person who answers a menu (keys pressed into their
    # ear). A round begun mid-utterance is worse: that utterance's final holds the cut
    # prompt too. Such a round takes its words from its own audio, decoded at each end
    # of an utterance, and ignores the session's final transcripts. The first round
    # hears the call from its start, so its finals are all its own.
    own_audio = early is not None and (amd_execute is None or already_talking)
    utterances = [0]  # speech starts in this round: a decode counts for the latest only
    round_words = [True]  # False: the latest utterance had no words of this round

    def on_state(event: UserStateChangedEvent) -> None:
        if event.new_state == "speaking":
            utterances[0] += 1
            transcribed.clear()
            round_.speech_started()
            if early is not None:
                early.speech_started()
        elif event.old_state == "speaking":
            if own_audio:
                tasks.append(asyncio.ensure_future(own_words(utterances[0])))
            if timing_rule[0]:
                tasks.append(
                    asyncio.ensure_future(
                        _then_quiet(round_, session, transcribed, lambda: round_words[0])
                    )
                )

    def without_amd() -> None:
        timing_rule[0] = True

    def on_transcript(event: UserInputTranscribedEvent) -> None:
        if not event.is_final or own_audio:
            return
        round_.heard(event.transcript)
        transcribed.set()

    async def own_words(utterance: int) -> None:
        assert early is not None
        text = (await early.words_so_far()).strip()
        round_.heard_all(text)  # a machine's cue decides, whichever utterance said it
        if utterance != utterances[0]:
            return  # the far end spoke again meanwhile: the next decode holds that too
        round_words[0] = bool(text)
        transcribed.set()

    async def words_now() -> str | None:
        assert early is not None
        return await early.words_so_far() if early.fed else None

    async def beeped() -> None:
        await ears.beep.heard.wait()
        round_.beep()

    async def hung_up() -> None:
        assert gone is not None
        await gone.wait()
        round_.nobody("hung up")

    async def quiet() -> None:
        await asyncio.sleep(silence_s)
        if round_.speech_at is None:
            round_.nobody("silence")

    session.on("user_state_changed", on_state)
    session.on("user_input_transcribed", on_transcript)
    if already_talking:
        # The far end is already talking (a menu's next prompt right after the keys,
        # with no pause the VAD would call the end of speech): this round's speech
        # starts now, or it would never look early, nor time its decision.
        round_.speech_started()
        if early is not None:
            early.speech_started()
    tasks += [asyncio.ensure_future(beeped()), asyncio.ensure_future(quiet())]
    if gone is not None:
        tasks.append(asyncio.ensure_future(hung_up()))
    if amd_execute is not None:
        tasks.append(
            asyncio.ensure_future(
                await_amd(
                    round_,
                    amd_execute,
                    talking=lambda: session.user_state == "speaking",
                    fall_back=without_amd,
                    words=transcribed,
                    decode=words_now if early is not None else None,
                )
            )
        )
    try:
        return await round_.decided
    finally:
        session.off("user_state_changed", on_state)
        session.off("user_input_transcribed", on_transcript)
        ears.early = None
        if early is not None:
            await early.aclose()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


#: A later round's person: an utterance, then this much more quiet (the VAD has
#: already waited its own end-of-speech silence), and no machine cue in its words.
HUMAN_QUIET_S = 1.0


async def _then_quiet(
    round_: AnswerRound,
    session: AgentSession,
    transcribed: asyncio.Event,
    had_words: Callable[[], bool],
) -> None:
    """Without AMD: an utterance with no machine cue, then quiet, is a person.

    Its words must have been heard first: on a busy machine the final transcript of
    a menu's seven-second prompt can take longer than the quiet, and "a person" said
    before it arrives would speak the reminder into the menu. So it waits for them,
    `MENU_WORDS_WAIT_S` at most (a cough the recogniser finds no words in).
    """
    await asyncio.sleep(HUMAN_QUIET_S)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(transcribed.wait(), MENU_WORDS_WAIT_S)
    if round_.done or session.user_state == "speaking" or not had_words():
        return
    round_.amd("human", "speech_then_quiet", "", speech_s=0.0)


async def far_end_quiet(session: AgentSession, *, within_s: float = 15.0) -> None:
    """Return once the far end is not speaking (a screener finishing its prompt)."""
    if session.user_state != "speaking":
        return
    quiet = asyncio.Event()

    def on_state(event: UserStateChangedEvent) -> None:
        if event.new_state != "speaking":
            quiet.set()

    session.on("user_state_changed", on_state)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(quiet.wait(), within_s)
    finally:
        session.off("user_state_changed", on_state)


#: A phone menu has finished when the line stays quiet this long after its last word.
MENU_DONE_S = 1.5
#: Then the recogniser's words for its last utterance may still be on their way.
MENU_WORDS_WAIT_S = 4.0


async def menu_words(
    session: AgentSession,
    *,
    done_s: float = MENU_DONE_S,
    within_s: float = 30.0,
    start_within_s: float = 0.0,
) -> str:
    """The words a phone menu says from now until it stops (final transcripts).

    A menu pauses between its options ("For billing, press two. ... For the front
    desk, press one."), so "stopped" is `done_s` of quiet, not the VAD's end of speech.
    `start_within_s`: wait this long for the menu to start again first (a menu says
    itself again when no key comes); "" if it does not.
    """
    words: list[str] = []
    speaking = asyncio.Event()
    quiet = asyncio.Event()
    transcribed = asyncio.Event()  # the words of the latest utterance have arrived
    (speaking if session.user_state == "speaking" else quiet).set()

    def on_state(event: UserStateChangedEvent) -> None:
        if event.new_state == "speaking":
            quiet.clear()
            transcribed.clear()
            speaking.set()
        else:
            speaking.clear()
            quiet.set()

    def on_transcript(event: UserInputTranscribedEvent) -> None:
        if event.is_final and event.transcript.strip():
            words.append(event.transcript)
            transcribed.set()

    session.on("user_state_changed", on_state)
    session.on("user_input_transcribed", on_transcript)
    try:
        if start_within_s > 0 and not speaking.is_set():
            try:
                await asyncio.wait_for(speaking.wait(), start_within_s)
            except TimeoutError:
                return ""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                while True:
                    await quiet.wait()
                    try:
                        await asyncio.wait_for(speaking.wait(), done_s)
                    except TimeoutError:
                        break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(transcribed.wait(), MENU_WORDS_WAIT_S)
    finally:
        session.off("user_state_changed", on_state)
        session.off("user_input_transcribed", on_transcript)
    return " ".join(words)
