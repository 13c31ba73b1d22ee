"""Voicemail on an answered reminder call: who answered, and when the beep has gone.

Who answered is livekit-agents 1.8.9's answering-machine detection (`voice.amd.AMD`):
it times the greeting with the session's VAD and asks an LLM to classify the words
(tool `save_prediction(label)`). Offline there is no LLM, so `GreetingRules` answers
that tool call from phrases (`answering.phrase_cue`: "leave a message", "after the
tone", "press 1", "mailbox is full"): the detector's timing rules are the real ones,
only the classifier is a phrase list. The cloud profile puts the real LLM first and
these rules last; `answering.py` decides who answered on top of AMD.

AMD does not listen for the beep. `BeepDetector` does, on the callee's audio: a beep
is a steady pure tone (one frequency between 350 and 2,500 Hz holding most of the
frame's energy) for at least 120 ms, which speech and line noise are not. The message
is spoken once the beep has been heard, or after `BEEP_WAIT_S` without one (some
mailboxes record without a beep).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import numpy as np
from livekit.agents import llm

from ..offline.dialogue import RuleLLM, Turn
from .answering import AnswerClass, phrase_cue

BEEP_WAIT_S = 6.0
MIN_BEEP_S = 0.12
#: The longest a beep is waited out once heard: the mailbox records from its end, so a
#: message started over the tone loses its first words (the callee's name).
MAX_BEEP_TAIL_S = 2.0
_BAND = (350.0, 2500.0)
_TONAL_SHARE = 0.6
_MIN_RMS = 300.0

#: Our answer -> the AMD label its classifier tool takes (a screener is AMD's "ivr").
_AMD_LABEL = {
    AnswerClass.SCREENING: "machine-ivr",
    AnswerClass.IVR: "machine-ivr",
    AnswerClass.VOICEMAIL: "machine-vm",
}


def classify_greeting(text: str) -> str:
    """An AMD label (`AMDCategory` value) for a greeting transcript (`phrase_cue`)."""
    cue = phrase_cue(text)
    if cue is None:
        return "human"
    if cue.unavailable:
        return "machine-unavailable"
    return _AMD_LABEL[cue.answer]


class GreetingRules(RuleLLM):
    """AMD's classifier LLM without a model: answers `save_prediction` from phrases."""

    model_name = "greeting-rules"

    def decide(self, chat_ctx: llm.ChatContext, offered: set[str]) -> Turn:
        said = ""
        for item in reversed(chat_ctx.items):
            if item.type == "message" and item.role == "user":
                said = item.text_content or ""
                break
        if not said.strip():
            return Turn()
        return Turn("", [("save_prediction", {"label": classify_greeting(said)})])


class BeepDetector:
    """Feed it the callee's audio frames; `heard` is set once a beep has been heard,
    `over` once that tone has stopped."""

    def __init__(self, *, min_beep_s: float = MIN_BEEP_S) -> None:
        self.min_beep_s = min_beep_s
        self.heard = asyncio.Event()
        self.over = asyncio.Event()
        self.beep_hz: float | None = None
        self._run_s = 0.0
        self._run_hz: float | None = None

    def reset(self) -> None:
        """Forget a beep heard so far (call when the greeting's verdict arrives)."""
        self.heard.clear()
        self.over.clear()
        self.beep_hz = None
        self._run_s = 0.0
        self._run_hz = None

    def push(self, samples: np.ndarray[Any, np.dtype[np.int16]], sample_rate: int) -> None:
        if samples.size < 64:
            return
        hz = tone_of(samples, sample_rate)
        seconds = samples.size / sample_rate
        if self.heard.is_set():
            if hz is None or self.beep_hz is None or abs(hz - self.beep_hz) > 40.0:
                self.over.set()
            return
        if hz is None or (self._run_hz is not None and abs(hz - self._run_hz) > 40.0):
            self._run_s = seconds if hz is not None else 0.0
            self._run_hz = hz
            return
        self._run_hz = hz if self._run_hz is None else self._run_hz
        self._run_s += seconds
        if self._run_s >= self.min_beep_s and not self.heard.is_set():
            self.beep_hz = self._run_hz
            self.heard.set()

    async def wait(self, seconds: float) -> bool:
        """True once a beep is heard, False after `seconds` without one."""
        try:
            await asyncio.wait_for(self.heard.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def wait_out(self, seconds: float) -> bool:
        """Like `wait`, then until the tone has stopped (at most `MAX_BEEP_TAIL_S`): the
        moment a voicemail message may start."""
        if not await self.wait(seconds):
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.over.wait(), MAX_BEEP_TAIL_S)
        return True


def tone_of(samples: np.ndarray[Any, np.dtype[np.int16]], sample_rate: int) -> float | None:
    """The frequency of a pure tone filling this frame, or None (speech, noise, silence)."""
    x = samples.astype(np.float64)
    if float(np.sqrt(np.mean(x * x))) < _MIN_RMS:
        return None
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sample_rate)
    peak = int(np.argmax(power))
    if not _BAND[0] <= freqs[peak] <= _BAND[1]:
        return None
    share = float(power[max(0, peak - 2) : peak + 3].sum() / power.sum())
    return float(freqs[peak]) if share >= _TONAL_SHARE else None
