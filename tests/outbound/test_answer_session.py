"""One round of listening wired to a session: what it does when the far end is mid-word."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dialtone.outbound.answer_session import CalleeEars, listen_for_answer
from dialtone.outbound.answering import AnswerClass


class TalkingSession:
    """A session whose far end is already speaking, and goes on (a menu's next prompt)."""

    user_state = "speaking"

    def __init__(self) -> None:
        self.handlers: dict[str, list[Callable[[Any], None]]] = {}

    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        self.handlers.setdefault(event, []).append(handler)

    def off(self, event: str, handler: Callable[[Any], None]) -> None:
        self.handlers[event].remove(handler)


async def test_a_round_that_starts_mid_prompt_looks_early_and_times_itself() -> None:
    # The keys went in and the menu's next prompt began at once: the VAD never saw the
    # far end stop, so no "started speaking" comes. The round must still listen early.
    session = TalkingSession()
    ears = CalleeEars()

    async def recognize(samples: np.ndarray, rate: int) -> str:
        return "all of our staff are busy for billing press two for all other calls press zero"

    listening = asyncio.ensure_future(
        listen_for_answer(
            session,  # type: ignore[arg-type]
            ears=ears,
            amd_execute=None,
            recognize=recognize,
        )
    )
    for _ in range(40):  # the prompt's audio keeps arriving, 20 ms at a time
        ears.push(np.full(160, 500, dtype=np.int16), 8000)
        await asyncio.sleep(0.05)
        if listening.done():
            break
    verdict = await asyncio.wait_for(listening, 5)
    assert verdict.answer is AnswerClass.IVR and verdict.by == "phrases"
    assert verdict.decided_after_s is not None  # timed from the round's start
    assert session.handlers == {"user_state_changed": [], "user_input_transcribed": []}


class Event:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


async def test_after_the_keys_a_prompt_is_not_a_person_before_its_words_arrive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A round without AMD: "an utterance, then quiet" is a person, but only once the
    # utterance's words are in; on a busy machine they come after the quiet.
    import dialtone.outbound.answer_session as answer_session

    monkeypatch.setattr(answer_session, "HUMAN_QUIET_S", 0.01)
    session = TalkingSession()
    session.user_state = "listening"
    listening = asyncio.ensure_future(
        listen_for_answer(
            session,  # type: ignore[arg-type]
            ears=CalleeEars(),
            amd_execute=None,
            recognize=None,
        )
    )
    await asyncio.sleep(0)

    def emit(name: str, event: Event) -> None:
        for handler in list(session.handlers[name]):
            handler(event)

    emit("user_state_changed", Event(old_state="listening", new_state="speaking"))
    session.user_state = "listening"
    emit("user_state_changed", Event(old_state="speaking", new_state="listening"))
    await asyncio.sleep(0.1)  # ten times the quiet: the words are late
    assert not listening.done()
    emit("user_input_transcribed", Event(transcript="for the front desk press one", is_final=True))
    verdict = await asyncio.wait_for(listening, 5)
    assert verdict.answer is AnswerClass.IVR


async def _later_round(
    monkeypatch: pytest.MonkeyPatch, *decodes: str, talking: bool = True
) -> tuple[asyncio.Future[Any], Callable[[str, Event], None], TalkingSession]:
    """A round after the keys, without AMD, begun mid-utterance (keys sent while the
    prompt played) unless not `talking`; decoding the round's own audio gives
    `decodes` in turn (the last one again after that)."""
    import dialtone.outbound.answer_session as answer_session
    import dialtone.outbound.answering as answering

    monkeypatch.setattr(answer_session, "HUMAN_QUIET_S", 0.01)
    monkeypatch.setattr(answering, "FIRST_LOOK_S", 60.0)  # only the end-of-utterance decode
    session = TalkingSession()
    session.user_state = "speaking" if talking else "listening"
    ears = CalleeEars()
    texts = list(decodes)

    async def recognize(samples: np.ndarray, rate: int) -> str:
        return texts.pop(0) if len(texts) > 1 else texts[0]

    listening = asyncio.ensure_future(
        listen_for_answer(
            session,  # type: ignore[arg-type]
            ears=ears,
            amd_execute=None,
            recognize=recognize,
        )
    )
    await asyncio.sleep(0)
    ears.push(np.full(1600, 500, dtype=np.int16), 8000)

    def emit(name: str, event: Event) -> None:
        for handler in list(session.handlers[name]):
            handler(event)

    return listening, emit, session


async def test_words_from_before_the_keys_do_not_make_a_person_a_menu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The keys cut the prompt short and a person spoke at once: one utterance for the
    # VAD, whose final transcript still says "press one". Sending keys again would
    # press them into the person's ear; what the round itself heard is a person.
    listening, emit, session = await _later_round(monkeypatch, "hello this is ann speaking")
    session.user_state = "listening"
    emit("user_state_changed", Event(old_state="speaking", new_state="listening"))
    emit(
        "user_input_transcribed",
        Event(transcript="for the front desk press one hello this is ann speaking", is_final=True),
    )
    verdict = await asyncio.wait_for(listening, 5)
    assert verdict.answer is AnswerClass.HUMAN, verdict


async def test_a_cut_prompt_with_no_words_of_the_round_decides_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The keys cut the prompt and the menu paused before its next one: the tail before
    # the keys is not a person's greeting, and the next prompt decides.
    listening, emit, session = await _later_round(monkeypatch, "", "for billing press two")
    session.user_state = "listening"
    emit("user_state_changed", Event(old_state="speaking", new_state="listening"))
    emit("user_input_transcribed", Event(transcript="for the front desk press", is_final=True))
    await asyncio.sleep(0.2)  # twenty times the quiet that makes an utterance a person
    assert not listening.done()
    emit("user_state_changed", Event(old_state="listening", new_state="speaking"))
    emit("user_state_changed", Event(old_state="speaking", new_state="listening"))
    emit("user_input_transcribed", Event(transcript="for billing press two", is_final=True))
    verdict = await asyncio.wait_for(listening, 5)
    assert verdict.answer is AnswerClass.IVR


async def test_a_late_transcript_of_the_prompt_before_the_keys_is_not_this_rounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The prompt ended, the keys went in, the line was quiet; on a busy machine the
    # prompt's last words ("... press star") arrive only now, as the person at the front
    # desk says hello. They were said before the round: the person is a person.
    listening, emit, session = await _later_round(
        monkeypatch, "hello this is ann speaking", talking=False
    )
    late = Event(transcript="to return to the main menu press star", is_final=True)
    emit("user_input_transcribed", late)
    emit("user_state_changed", Event(old_state="listening", new_state="speaking"))
    emit(
        "user_input_transcribed",
        Event(transcript="for the front desk press one to return to the main menu", is_final=True),
    )
    session.user_state = "listening"
    emit("user_state_changed", Event(old_state="speaking", new_state="listening"))
    verdict = await asyncio.wait_for(listening, 5)
    assert verdict.answer is AnswerClass.HUMAN, verdict
    assert verdict.transcript == "hello this is ann speaking"
