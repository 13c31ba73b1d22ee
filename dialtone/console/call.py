"""One console call: the receptionist agent program in an AgentSession, no SIP leg.

The agent is the one a real call gets (`load_program("receptionist").make_agent`) with
the profile's pipeline; only the caller's side differs. In audio mode a sound card is
the line (`audio.py`); in text mode what the caller types goes in as the caller's words
and the agent's replies are shown, not spoken. The call leaves a record in the same
database as every call (trunk "console"), with who hung up and why, however it ends:
`end_call`, Ctrl-C, or the end of typed input.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TextIO

from livekit.agents import AgentSession
from livekit.agents.llm import ChatMessage
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    ConversationItemAddedEvent,
    FunctionToolsExecutedEvent,
    UserStateChangedEvent,
)

from ..config import Settings
from ..inbound.call import CallContext
from ..messages.store import message_store
from ..personas import PersonaBook
from ..pipeline import build_pipeline, load_vad
from ..programs import load_program
from ..records.models import HangupBy
from ..records.simulated import start_simulated_record
from ..telephony.caller import CallerInfo
from ..turn_metrics import TurnMetricsRecorder
from ..voices import check_persona_voice
from .audio import DeviceLine
from .devices import AudioDevice
from .lines import LineSource

logger = logging.getLogger("dialtone.console")


@dataclass(frozen=True)
class ConsoleOptions:
    persona: str | None = None
    caller_number: str = "+15551230000"
    dialed_number: str | None = None
    wideband: bool = False


@dataclass(frozen=True)
class ConsoleResult:
    hung_up_by: HangupBy
    reason: str
    record_id: str | None
    outcome: str | None


class ConsoleControl:
    """Hang-up for the console: the agent's `end_call` ends the console."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()
        self.reason: str | None = None

    async def hang_up(self, reason: str) -> None:
        self.reason = reason
        self.ended.set()


class Printer:
    """The call as the person at the keyboard sees it: lines, tools, latency."""

    def __init__(self, out: TextIO, *, show_caller: bool) -> None:
        self._out = out
        self._show_caller = show_caller
        self._caller_done: float | None = None
        self._latency_ms: float | None = None

    def say(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def caller_done(self) -> None:
        self._caller_done = time.monotonic()
        self._latency_ms = None

    def agent_started(self) -> None:
        if self._caller_done is not None and self._latency_ms is None:
            self._latency_ms = (time.monotonic() - self._caller_done) * 1000

    def attach(self, session: AgentSession) -> None:
        session.on("conversation_item_added", self._on_item)
        session.on("function_tools_executed", self._on_tools)
        session.on("agent_state_changed", self._on_agent_state)
        session.on("user_state_changed", self._on_user_state)

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, ChatMessage) or not item.text_content:
            return
        if item.role == "user" and self._show_caller:
            self.say(f"caller: {item.text_content}")
        elif item.role == "assistant":
            self.agent_started()
            took = "" if self._latency_ms is None else f" ({self._latency_ms:.0f} ms)"
            cut = " [interrupted]" if item.interrupted else ""
            self.say(f"agent{took}: {item.text_content}{cut}")
            self._caller_done = None

    def _on_tools(self, event: FunctionToolsExecutedEvent) -> None:
        for call in event.function_calls:
            arguments = call.arguments or "{}"
            with contextlib.suppress(json.JSONDecodeError):
                arguments = json.dumps(json.loads(arguments), ensure_ascii=False)
            self.say(f"tool: {call.name} {arguments}")

    def _on_agent_state(self, event: AgentStateChangedEvent) -> None:
        if event.new_state == "speaking":
            self.agent_started()

    def _on_user_state(self, event: UserStateChangedEvent) -> None:
        if event.old_state == "speaking" and event.new_state == "listening":
            self.caller_done()


async def _caller_leaves(
    session: AgentSession, printer: Printer, lines: LineSource | None, control: ConsoleControl
) -> str:
    """Feed typed lines until the agent hangs up or input ends; why the caller left."""
    if lines is None:
        await control.ended.wait()
        return ""
    while not control.ended.is_set():
        typed = asyncio.ensure_future(lines.next_line())
        ended = asyncio.ensure_future(control.ended.wait())
        await asyncio.wait({typed, ended}, return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        if not typed.done():
            typed.cancel()
            break
        line = typed.result()
        if line is None:
            return "the caller ended the input (EOF)"
        if line.strip():
            printer.caller_done()
            session.interrupt()
            session.generate_reply(user_input=line.strip())
    return ""


async def run_console(
    settings: Settings,
    *,
    options: ConsoleOptions,
    out: TextIO,
    lines: LineSource | None = None,
    device: AudioDevice | None = None,
    stop: asyncio.Event | None = None,
) -> ConsoleResult:
    """Run one console call; text mode reads `lines`, audio mode uses `device`.

    `stop` is set when the person at the console presses Ctrl-C (`interrupts.py`).
    """
    if (lines is None) == (device is None):
        raise ValueError("a console call has exactly one of lines (text) or device (audio)")
    book = PersonaBook.load(settings.persona_dir, settings.default_persona)
    persona = book.pick(
        requested=options.persona, dialed_number=options.dialed_number, asked_by="--persona"
    )
    check_persona_voice(persona, settings)
    make_agent = load_program("receptionist", settings.agents_dir).make_agent
    pipeline = build_pipeline(settings, persona, load_vad())
    session: AgentSession = AgentSession(**pipeline.session_kwargs())
    printer = Printer(out, show_caller=device is not None)
    printer.attach(session)
    control = ConsoleControl()
    caller = CallerInfo(
        phone_number=options.caller_number,
        dialed_number=options.dialed_number,
        call_id=f"SCL_console_{uuid.uuid4().hex[:12]}",
    )
    recorder = await start_simulated_record(
        None, settings, room="console", caller=caller, persona=persona.name, trunk="console"
    )
    recorder.attach(session, TurnMetricsRecorder(session, call_id=caller.call_id))
    line = None if device is None else DeviceLine(device, wideband=options.wideband)
    session.input.audio = None if line is None else line.microphone
    session.output.audio = None if line is None else line.ear
    context = CallContext(
        persona=persona,
        caller=caller,
        room="console",
        messages=message_store(settings),
        control=control,
    )
    interrupted = stop or asyncio.Event()
    caller_left = ""
    try:
        if line is not None:
            line.start()
        await session.start(agent=make_agent(context), record=False)
        recorder.answered()
        talk = asyncio.ensure_future(_caller_leaves(session, printer, lines, control))
        ctrl_c = asyncio.ensure_future(interrupted.wait())
        await asyncio.wait({talk, ctrl_c}, return_when=asyncio.FIRST_COMPLETED)
        if talk.done():
            caller_left = talk.result()
        else:
            talk.cancel()
            caller_left = "the caller pressed Ctrl-C"
        ctrl_c.cancel()
    finally:
        if control.reason is not None:
            recorder.hung_up(HangupBy.AGENT, control.reason)
        else:
            recorder.hung_up(HangupBy.CALLER, caller_left or "the console stopped")
        with contextlib.suppress(Exception):
            await session.aclose()
        record = await recorder.finish()
        if line is not None:
            await line.aclose()
        await pipeline.aclose()
    by = HangupBy.AGENT if control.reason is not None else HangupBy.CALLER
    reason = control.reason or caller_left
    outcome = None if record is None or record.outcome is None else record.outcome.value
    record_id = None if record is None else record.id
    printer.say(f"call ended: {reason} (hung up by {by.value}); record {record_id} ({outcome})")
    return ConsoleResult(by, reason, record_id, outcome)
