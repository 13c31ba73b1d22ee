"""Who answered: the phrase cues, AMD's verdict in our terms, and one round's rules."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from dialtone.outbound.answering import (
    AnswerClass,
    AnswerRound,
    Cue,
    EarlyLook,
    from_amd,
    phrase_cue,
    weak_vote,
)

H, VM, SCR, IVR = (
    AnswerClass.HUMAN,
    AnswerClass.VOICEMAIL,
    AnswerClass.SCREENING,
    AnswerClass.IVR,
)


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("hello", None),
        ("hi this is ann", None),
        ("hello who is this", None),
        # Pixel Call Screen, iOS "Ask Reason for Calling"
        ("the person you're calling is using a screening service", SCR),
        ("go ahead and say your name and why you're calling", SCR),
        ("if you record your name and reason for calling i'll see if this person is free", SCR),
        # a screener asking to record a name is not a mailbox
        ("please record your name and the reason for your call after the tone", SCR),
        ("please leave a message after the tone", VM),
        ("at the tone please record your message", VM),
        ("sorry i missed your call", VM),
        ("for the front desk press one", IVR),
        ("if you know your party's extension you may dial it at any time", IVR),
        # a menu that offers a message is still a menu
        ("to leave a message for the office press two", IVR),
        # a menu's key heard before its digit is ("press on"), and its own words
        ("thank you for calling to reach a resident's room press on", IVR),
        ("main menu to repeat these options", IVR),
        ("i can't get the phone right now", VM),
        ("i'm away from my desk please leave a message and i will call you back", VM),
        # a mailbox that offers options after "record your message" is a mailbox
        ("record your message after the tone or press one for more options", VM),
    ],
)
def test_phrase_cues(said: str, answer: AnswerClass | None) -> None:
    cue = phrase_cue(said)
    assert (cue.answer if cue else None) == answer


def test_a_full_mailbox_takes_no_message() -> None:
    assert phrase_cue("the mailbox is full") == Cue(answer=VM, unavailable=True)


def test_amd_files_a_screener_under_ivr_and_the_words_say_screening() -> None:
    verdict = from_amd("machine-ivr", "llm", "please state your name and the reason for your call")
    assert verdict.answer is SCR and verdict.amd_label == "machine-ivr"
    assert from_amd("machine-ivr", "llm", "for billing press two").answer is IVR


def test_a_long_greeting_amd_calls_human_is_a_machine_by_its_words() -> None:
    assert from_amd("human", "llm", "hello this is ann", speech_s=1.2).answer is H
    heard = "you reached the your call leave a good"
    assert from_amd("human", "llm", heard, speech_s=4.0).answer is VM
    assert weak_vote("thank you for calling for reception one") is IVR
    assert from_amd("human", "llm", "the and", speech_s=4.0).answer is AnswerClass.UNSURE
    # "you've reached" is never a person picking up, however short
    assert from_amd("human", "llm", "you've reached and why the", speech_s=2.0).answer is VM


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_time_to_decide_runs_from_the_first_speech() -> None:
    clock = FakeClock()
    round_ = AnswerRound(clock=clock)
    clock.now = 101.0
    round_.speech_started()
    clock.now = 102.75
    round_.heard("hi you've reached jane please leave a message")
    verdict = await round_.decided
    assert verdict.answer is VM and verdict.by == "phrases"
    assert verdict.decided_after_s == pytest.approx(1.75)


async def test_an_early_cue_was_heard_when_its_look_began() -> None:
    clock = FakeClock()
    round_ = AnswerRound(clock=clock)
    round_.speech_started()  # at 100.0
    clock.now = 101.5  # this look's audio ends here; decoding it takes a busy second
    look_began = clock.now
    clock.now = 102.5
    round_.looked("please state your name and the reason for your call", look_began)
    verdict = await round_.decided
    assert verdict.answer is SCR
    assert verdict.decided_after_s == pytest.approx(2.5)  # the clock: decoding included
    assert verdict.heard_after_s == pytest.approx(1.5)  # the speech its words came from
    beeped = AnswerRound(clock=clock)
    beeped.speech_started()
    clock.now = 103.0
    beeped.beep()  # heard as it happens: both the same
    assert (await beeped.decided).heard_after_s == pytest.approx(0.5)


async def test_the_first_sure_source_wins() -> None:
    round_ = AnswerRound(clock=FakeClock())
    round_.speech_started()
    round_.beep()
    round_.amd("human", "short_greeting", "")
    round_.heard("for billing press two")
    verdict = await round_.decided
    assert verdict.answer is VM and verdict.by == "beep"


async def test_words_alone_never_say_a_person() -> None:
    round_ = AnswerRound(clock=FakeClock())
    round_.heard("hello this is ann")
    assert not round_.done
    round_.amd("human", "short_greeting", "")
    assert (await round_.decided).answer is H


async def test_an_early_cue_at_the_end_of_a_look_waits_for_the_next_look() -> None:
    round_ = AnswerRound(clock=FakeClock())
    round_.looked("hello this is ann press")  # the newest word: a guess the next look revises
    assert not round_.done
    round_.looked("hello this is ann speaking")
    assert not round_.done  # the guess is gone: no cue, no answer
    round_.looked("welcome to the clinic to reach the front desk press")
    assert not round_.done  # a cue in the newest word again, not the one before
    round_.looked("welcome to the clinic to reach the front desk press one")
    assert (await round_.decided).answer is IVR  # the decoder moved past it


async def test_an_early_cue_the_decoder_moved_past_decides_at_once() -> None:
    round_ = AnswerRound(clock=FakeClock())
    round_.looked("the person you're calling is using a screening service and will")
    assert (await round_.decided).answer is SCR


async def test_the_early_look_decodes_the_greeting_so_far_until_stopped() -> None:
    heard: list[str] = []
    sizes: list[int] = []
    answers = iter(["hi you", "hi you reached", "hi you reached jane please"])

    async def recognize(samples: np.ndarray, rate: int) -> str:
        sizes.append(samples.size)
        await asyncio.sleep(0)
        return next(answers, "")

    def on_text(text: str, _ends_at: float) -> None:
        heard.append(text)
        look.push(np.ones(160, dtype=np.int16), 8000)  # more audio arrives meanwhile
        if len(heard) == 3:
            look.stopped = True

    look = EarlyLook(recognize=recognize, on_text=on_text, first_s=0.0, every_s=0.0)
    look.push(np.ones(160, dtype=np.int16), 8000)
    look.speech_started()
    assert look._task is not None
    await look._task
    assert heard == ["hi you", "hi you reached", "hi you reached jane please"]
    assert sizes == [160, 320, 480]  # each look decodes everything heard so far
    await look.aclose()


async def test_the_early_look_skips_the_quiet_line_before_speech() -> None:
    sizes: list[int] = []

    async def recognize(samples: np.ndarray, rate: int) -> str:
        sizes.append(samples.size)
        look.stopped = True
        return ""

    look = EarlyLook(recognize=recognize, on_text=lambda _t, _at: None, first_s=0.0)
    look.push(np.zeros(3 * 8000, dtype=np.int16), 8000)  # three seconds of quiet line
    look.speech_started()
    assert look._task is not None
    await look._task
    assert sizes == [4000]  # half a second before the VAD's onset, not the three seconds


class _Prediction:
    def __init__(self, category: str, reason: str, speech_s: float = 0.8) -> None:
        from livekit.agents.voice.amd import AMDCategory

        self.category = AMDCategory(category)
        self.reason = reason
        self.transcript = ""
        self.speech_duration = speech_s


async def test_hello_then_talking_again_is_not_a_person_yet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dialtone.outbound.answering as answering

    monkeypatch.setattr(answering, "SHORT_GREETING_CONFIRM_S", 0.0)
    fell_back: list[bool] = []

    async def execute() -> _Prediction:
        return _Prediction("human", "short_greeting")

    round_ = AnswerRound(clock=FakeClock())
    await answering.await_amd(
        round_, execute, talking=lambda: True, fall_back=lambda: fell_back.append(True)
    )
    assert not round_.done and fell_back == [True]  # "Go ahead, ..." goes on: keep listening

    quiet_round = AnswerRound(clock=FakeClock())
    await answering.await_amd(quiet_round, execute, talking=lambda: False)
    assert (await quiet_round.decided).answer is H


async def _short_greeting() -> _Prediction:
    return _Prediction("human", "short_greeting")


async def test_a_person_is_decided_once_their_words_are_in_not_after_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The wait for words is dead air to a person who said "Hello?": it ends when the
    transcript is in. With a cap far longer than the test's limit, only that can end it."""
    import dialtone.outbound.answering as answering

    monkeypatch.setattr(answering, "SHORT_GREETING_CONFIRM_S", 3600.0)
    words = asyncio.Event()
    words.set()
    round_ = AnswerRound(clock=FakeClock())
    await asyncio.wait_for(answering.await_amd(round_, _short_greeting, words=words), 30)
    assert (await round_.decided).answer is H


async def test_words_already_in_start_no_decode() -> None:
    """A decode once started runs to its end in the recogniser (the cloud's is a paid
    request), so none is started when the transcript is already in."""
    import dialtone.outbound.answering as answering

    decodes: list[bool] = []

    async def decode() -> str | None:
        decodes.append(True)
        return "hello"

    words = asyncio.Event()
    words.set()
    round_ = AnswerRound(clock=FakeClock())
    await answering.await_amd(round_, _short_greeting, words=words, decode=decode)
    assert (await round_.decided).answer is H and decodes == []


@pytest.mark.parametrize(
    ("decoded", "answer"),
    [
        ("", H),  # no recognisable words, so no final transcript: the decode says so
        ("please state your name", SCR),  # a short screener prompt is the screener
    ],
)
async def test_the_rounds_own_decode_tells_the_words_without_a_transcript(
    monkeypatch: pytest.MonkeyPatch, decoded: str, answer: AnswerClass
) -> None:
    """An utterance with no recognisable words sends no final transcript; the round's
    own decode answers instead, and the person is not kept waiting for the cap."""
    import dialtone.outbound.answering as answering

    monkeypatch.setattr(answering, "SHORT_GREETING_CONFIRM_S", 3600.0)

    async def decode() -> str | None:
        return decoded

    round_ = AnswerRound(clock=FakeClock())
    await asyncio.wait_for(
        answering.await_amd(round_, _short_greeting, words=asyncio.Event(), decode=decode), 30
    )
    assert (await round_.decided).answer is answer


async def test_with_no_audio_to_decode_and_no_transcript_the_wait_is_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No words known: the verdict waits out the cap, then the far end's state decides."""
    import dialtone.outbound.answering as answering

    monkeypatch.setattr(answering, "SHORT_GREETING_CONFIRM_S", 3600.0)

    async def no_audio() -> str | None:
        return None

    round_ = AnswerRound(clock=FakeClock())
    waiting = asyncio.ensure_future(
        answering.await_amd(round_, _short_greeting, words=asyncio.Event(), decode=no_audio)
    )
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done() and not round_.done  # still waiting for the words
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_far_end_talking_again_within_the_shortest_wait_is_still_heard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Words that arrive at once do not end the wait before `SHORT_GREETING_MIN_S`: a
    screener's "Hi," then a pause, then its prompt, is heard talking again first."""
    import dialtone.outbound.answering as answering

    monkeypatch.setattr(answering, "SHORT_GREETING_MIN_S", 0.05)
    words = asyncio.Event()
    words.set()  # "hi" is already transcribed
    talking = [False]
    asyncio.get_running_loop().call_later(0.01, lambda: talking.__setitem__(0, True))
    fell_back: list[bool] = []
    round_ = AnswerRound(clock=FakeClock())
    await answering.await_amd(
        round_,
        _short_greeting,
        talking=lambda: talking[0],
        fall_back=lambda: fell_back.append(True),
        words=words,
    )
    assert not round_.done and fell_back == [True]


async def test_a_long_greeting_is_judged_by_its_words_decoded_in_one_piece() -> None:
    """The VAD cut a menu's welcome into pieces the recogniser misheard (a screener's
    "reason"); decoded whole, it says "please enter": a menu, not a screener."""
    import dialtone.outbound.answering as answering

    async def long_greeting() -> _Prediction:
        return _Prediction("human", "llm", speech_s=6.0)

    async def whole() -> str | None:
        return "for calling and please enter the and you are trying to reach"

    round_ = AnswerRound(clock=FakeClock())
    round_.heard("for calling and reason i talk to a human")
    round_.heard("and what are you are trying to reach")
    await answering.await_amd(round_, long_greeting, decode=whole)
    verdict = await round_.decided
    assert verdict.answer is IVR and verdict.by == "long greeting"
