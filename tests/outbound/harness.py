"""A test harness that plays the reminder worker's role against the LiveKit double.

It runs the real `run_attempt` (dial permit, `CreateSIPParticipant` through the real
livekit-api client, SIP-failure mapping, outcome report over HTTP) for a job; only the
answered part is played in text: the callee's greeting is labelled by the offline AMD
classifier (`classify_greeting`) and a person's lines go through the real
`ReminderAgent` in an `AgentSession` whose LLM is scripted (or the offline rules).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from livekit.agents import AgentSession, llm
from livekit.api import LiveKitAPI
from livekit.protocol.room import DeleteRoomRequest
from livekit.protocol.sip import CreateSIPOutboundTrunkRequest, SIPOutboundTrunkInfo

from dialtone.outbound.answering import AnswerClass, Verdict, from_amd
from dialtone.outbound.attempt import after_answer, run_attempt
from dialtone.outbound.callback import CampaignCallback, RetryPolicy
from dialtone.outbound.conversation import AnswerHooks
from dialtone.outbound.dial import ReportedOutcome
from dialtone.outbound.voicemail import classify_greeting
from dialtone.personas import Persona, PersonaBook
from dialtone.wire import ReminderJob
from tests.fakes import Reply, ScriptedLLM, last_item_type, last_user_text
from tests.programs import reminder

ReminderAgent = reminder.ReminderAgent

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "operator-token-0123456789"
CALLER_ID = "+15550100100"
_QUOTED = re.compile(r'"([^"]+)"')


def reminder_persona() -> Persona:
    return PersonaBook.load(ROOT / "personas", "receptionist").pick(requested="reminder")


def job_for(**overrides: Any) -> ReminderJob:
    data: dict[str, Any] = {
        "version": 1,
        "kind": "reminder",
        "attempt_id": "a" * 32,
        "attempt_number": 1,
        "campaign_id": "c" * 32,
        "contact_id": 1,
        "phone": "+15550200001",
        "name": "Ann",
        "timezone": "America/New_York",
        "persona": "reminder",
        "variables": {"appointment": "Tuesday at 3 pm"},
        "outbound_trunk": "ST_missing",
        "caller_id": CALLER_ID,
        "callback_token": "tok",
    }
    data.update(overrides)
    return ReminderJob.model_validate(data)


async def make_trunk(lk: LiveKitAPI) -> str:
    made = await lk.sip.create_outbound_trunk(
        CreateSIPOutboundTrunkRequest(
            trunk=SIPOutboundTrunkInfo(
                name="carrier-outbound", address="sip.carrier.example", numbers=[CALLER_ID]
            )
        )
    )
    return made.sip_trunk_id


def person(chat_ctx: llm.ChatContext) -> Reply:
    """A scripted model: the person's words pick the tool; a tool's answer is said."""
    if last_item_type(chat_ctx) == "function_call_output":
        item = chat_ctx.items[-1]
        output = getattr(item, "output", "") or ""
        quoted = _QUOTED.search(output)
        if getattr(item, "name", "") == "end_call" or quoted is None:
            return Reply()
        return Reply(quoted.group(1), [("end_call", {})])
    said = last_user_text(chat_ctx)
    if "stop calling" in said or "not call me" in said:
        return Reply("Of course.", [("opt_out", {})])
    if "cancel" in said:
        return Reply("", [("cancel_appointment", {"note": said})])
    if "another day" in said:
        return Reply("", [("request_reschedule", {"preferred_time": said})])
    if "yes" in said:
        return Reply("Wonderful.", [("confirm_appointment", {})])
    if "bye" in said:
        return Reply("Goodbye!", [("end_call", {})])
    return Reply("Can you make it to your appointment?")


class TextCall:
    """Ends a text-mode call: remembers the hang-up."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def hang_up(self, reason: str) -> None:
        self.reasons.append(reason)


@dataclass
class Callee:
    """The far end of one number: what it says when it answers (SIP side: `script_call`)."""

    greeting: str = "hello"
    lines: Sequence[str] = ()
    died: bool = False  # the agent dies once answered: `play_job` raises `AgentDied`


class AgentDied(BaseException):
    """The job process is killed mid-call (not an `Exception`: nothing handles it)."""


@dataclass
class Played:
    job: ReminderJob
    result: ReportedOutcome | None
    agent: ReminderAgent | None = None
    spoken: list[str] = field(default_factory=list)


async def converse_text(
    job: ReminderJob,
    persona: Persona,
    callee: Callee,
    model: llm.LLM | None = None,
    on_opt_out: Callable[[str], Awaitable[object]] | None = None,
) -> tuple[ReportedOutcome, ReminderAgent, list[str]]:
    """The answered part of a call, in text: AMD label from the greeting, then the lines."""
    control = TextCall()
    agent = ReminderAgent(job, persona, control)
    agent.on_opt_out = on_opt_out
    spoken: list[str] = []
    async with AgentSession(llm=model or ScriptedLLM(person)) as session:
        session.on(
            "conversation_item_added",
            lambda ev: (
                spoken.append(ev.item.text_content or "")
                if getattr(ev.item, "role", "") == "assistant"
                else None
            ),
        )
        await session.start(agent)

        async def no_beep_wait() -> bool:
            return True

        lines = list(callee.lines)

        async def conversation() -> None:
            while lines:
                await session.run(user_input=lines.pop(0))
                if control.reasons:
                    break

        async def listen() -> Verdict:
            """After a screener: the next line is whoever came on (none: it hung up)."""
            if not lines:
                return Verdict(answer=AnswerClass.UNSURE, by="hung up")
            line = lines.pop(0)
            return from_amd(classify_greeting(line), "llm", line)

        async def quiet() -> None:
            return None

        hooks = AnswerHooks(
            beep=no_beep_wait, conversation=conversation, listen=listen, quiet=quiet
        )
        greeting = callee.greeting
        result = await after_answer(
            agent, from_amd(classify_greeting(greeting), "llm", greeting), hooks
        )
    return result, agent, spoken


async def play_job(
    job: ReminderJob,
    lk: LiveKitAPI,
    api: httpx.AsyncClient,
    callee: Callee,
    persona: Persona | None = None,
    model: llm.LLM | None = None,
) -> Played:
    """One attempt with the real `run_attempt`, the double as LiveKit, `api` as the API."""
    persona = persona or reminder_persona()
    callback = CampaignCallback(
        str(api.base_url),
        job.attempt_id,
        job.callback_token.get_secret_value(),
        client=api,
        policy=RetryPolicy(tries=3, backoff=0.01, backoff_max=0.02),
    )
    played = Played(job, None)

    async def converse() -> ReportedOutcome:
        if callee.died:
            raise AgentDied
        result, agent, spoken = await converse_text(
            job, persona, callee, model, on_opt_out=callback.opt_out
        )
        played.agent, played.spoken = agent, spoken
        return result

    async def hang_up() -> None:
        await lk.room.delete_room(DeleteRoomRequest(room=f"dt-attempt-{job.attempt_id}"))

    played.result = await run_attempt(job, persona, callback, lk.sip, converse, hang_up)
    return played
