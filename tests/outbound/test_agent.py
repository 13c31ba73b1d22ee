"""The reminder conversation: a scripted model (or the offline rules) uses the real tools."""

from __future__ import annotations

import asyncio

import pytest
from livekit.agents import AgentSession, StopResponse, llm
from livekit.api import LiveKitAPI

from dialtone.call.control import Transfers
from dialtone.campaigns.models import Outcome
from dialtone.outbound.dial import ReportedOutcome
from dialtone.outbound.rules import ReminderRules
from dialtone.telephony.outcomes import TransferOutcome
from dialtone.telephony.transfer import LiveKitApiCalls, TransferDesk
from tests.fakes import Reply, ScriptedLLM
from tests.livekit_double import LiveKitDouble
from tests.programs import reminder

from .harness import (
    Callee,
    TextCall,
    converse_text,
    job_for,
    make_trunk,
    person,
    reminder_persona,
)

ReminderAgent = reminder.ReminderAgent


@pytest.mark.parametrize(
    ("line", "outcome", "detail", "closing"),
    [
        ("yes i will be there", Outcome.COMPLETED, "confirmed", "all set"),
        ("i have to cancel, i am sick", Outcome.COMPLETED, "cancel requested", "cancel"),
        ("can i come another day, monday", Outcome.COMPLETED, "reschedule requested", "new time"),
        ("please stop calling me", Outcome.OPTED_OUT, "asked not to be called", "won't call"),
    ],
)
async def test_each_answer_ends_in_its_outcome(
    line: str, outcome: Outcome, detail: str, closing: str
) -> None:
    result, agent, spoken = await converse_text(
        job_for(), reminder_persona(), Callee("hello", [line])
    )
    assert result.outcome is outcome
    assert result.detail.startswith(detail)
    assert "Tuesday at 3 pm" in spoken[0]  # the reminder, from the contact's variables
    assert closing in spoken[-1]
    assert agent.ended.is_set()  # end_call hung up after the closing sentence


async def test_the_reason_is_kept_in_the_detail() -> None:
    result, _, _ = await converse_text(
        job_for(), reminder_persona(), Callee("hello", ["can i come another day, monday"])
    )
    assert result.detail == "reschedule requested: can i come another day, monday"


async def test_opting_out_wins_over_a_later_answer() -> None:
    def model(chat_ctx: llm.ChatContext) -> Reply:
        if chat_ctx.items[-1].type == "function_call_output":
            return Reply()
        return Reply("", [("opt_out", {}), ("confirm_appointment", {})])

    result, _, _ = await converse_text(
        job_for(), reminder_persona(), Callee("hello", ["whatever"]), ScriptedLLM(model)
    )
    assert result.outcome is Outcome.OPTED_OUT


async def test_an_opt_out_is_handed_on_the_moment_it_is_heard_and_once() -> None:
    """The entrypoint hooks `on_opt_out` to the API's opt-out call: it runs during the
    conversation, before any report, and once although the model opts out twice."""
    heard: list[str] = []

    async def listed(evidence: str) -> None:
        heard.append(evidence)

    def model(chat_ctx: llm.ChatContext) -> Reply:
        if chat_ctx.items[-1].type == "function_call_output":
            return Reply()
        return Reply("", [("opt_out", {}), ("opt_out", {})])

    result, _, _ = await converse_text(
        job_for(),
        reminder_persona(),
        Callee("hello", ["stop calling me"]),
        ScriptedLLM(model),
        on_opt_out=listed,
    )
    assert result.outcome is Outcome.OPTED_OUT
    assert len(heard) == 1  # once, by the time the conversation returned


async def test_a_person_who_says_nothing_useful_still_got_the_reminder() -> None:
    result, _, _ = await converse_text(job_for(), reminder_persona(), Callee("hello", ["hmm"]))
    assert result == result.__class__(Outcome.COMPLETED, "reminder delivered; no answer given")


async def test_hanging_up_before_the_reminder_is_not_a_delivery() -> None:
    agent = ReminderAgent(job_for(), reminder_persona(), TextCall())
    assert agent.result().outcome is Outcome.DECLINED


@pytest.mark.parametrize(
    ("greeting", "outcome", "detail"),
    [
        ("Hi, this is Dana, leave a message after the tone", Outcome.VOICEMAIL, "message left"),
        ("The mailbox is full and cannot accept messages", Outcome.VOICEMAIL, "no messages"),
        ("Thank you for calling, press one for sales", Outcome.NO_ANSWER, "phone menu"),
    ],
)
async def test_machines(greeting: str, outcome: Outcome, detail: str) -> None:
    result, _, spoken = await converse_text(job_for(), reminder_persona(), Callee(greeting))
    assert result.outcome is outcome and detail in result.detail
    if result.detail.startswith("message left"):
        assert spoken and "Tuesday at 3 pm" in spoken[0] and "call us back" in spoken[0]
    else:
        assert spoken == []  # nothing said to a machine that cannot take it


# --- the offline profile's rules -----------------------------------------------------


@pytest.mark.parametrize(
    ("line", "outcome"),
    [
        ("yes i can make it", Outcome.COMPLETED),
        ("please take me off your list", Outcome.OPTED_OUT),
        ("i need to reschedule", Outcome.COMPLETED),
    ],
)
async def test_offline_rules_use_the_tools(line: str, outcome: Outcome) -> None:
    persona = reminder_persona()
    result, agent, spoken = await converse_text(
        job_for(), persona, Callee("hello", [line]), ReminderRules(persona)
    )
    assert result.outcome is outcome
    assert agent.ended.is_set()
    assert spoken[-1].endswith("Goodbye!")


async def test_offline_rules_never_opt_out_on_a_bare_no() -> None:
    persona = reminder_persona()
    result, agent, spoken = await converse_text(
        job_for(), persona, Callee("hello", ["no"]), ReminderRules(persona)
    )
    assert result.outcome is not Outcome.OPTED_OUT
    assert spoken[-1] == persona.offline.fallback
    assert not agent.ended.is_set()


# --- transfer to a human, against the double -----------------------------------------


async def test_transfer_to_the_front_desk_bridges_the_human_in(
    lk: LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    trunk_id = await make_trunk(lk)
    persona = reminder_persona()
    target = persona.transfer_targets[0].model_copy(update={"outbound_trunk": trunk_id})
    persona = persona.model_copy(update={"transfer_targets": [target]})
    job = job_for()
    room = f"dt-attempt-{job.attempt_id}"
    livekit_double.add_participant(room, "callee", kind="sip", attributes={"sip.callID": "SCL_1"})
    desk = TransferDesk(LiveKitApiCalls(lk), room=room, caller_identity="callee")
    desk.is_open = lambda _target: True  # type: ignore[method-assign]
    control = TextCall()

    class Leave:
        def __init__(self) -> None:
            self.left: list[str] = []

        async def leave(self, reason: str) -> None:
            self.left.append(reason)

    leave = Leave()

    def model(chat_ctx: llm.ChatContext) -> Reply:
        if chat_ctx.items[-1].type == "function_call_output":
            return Reply()
        return Reply("Please hold.", [("transfer_to_human", {"reason": "a billing question"})])

    agent = ReminderAgent(job, persona, control, transfers=Transfers(desk, leave))
    async with AgentSession(llm=ScriptedLLM(model)) as session:
        await session.start(agent)
        agent.deliver()
        await session.run(user_input="can i talk to someone")
    (result,) = agent.transfer_results
    assert result.outcome is TransferOutcome.COMPLETED
    (dial,) = livekit_double.sip.dials
    assert dial.request.room_name == room and dial.request.sip_call_to == target.phone
    assert agent.result().detail == "transferred to front desk"
    assert leave.left == ["handed the person to a human"]  # the agent leaves; the call goes on
    assert control.reasons == []  # and does not hang up on the person


async def test_a_reminder_cut_off_without_an_answer_is_not_delivered() -> None:
    agent = ReminderAgent(job_for(), reminder_persona(), TextCall())
    async with AgentSession(llm=ScriptedLLM(lambda _ctx: Reply())) as session:
        await session.start(agent)
        handle = agent.deliver()
        handle.interrupt(force=True)
        await handle
    assert agent.result().outcome is Outcome.DECLINED
    assert "cut off" in agent.result().detail


async def _delivered(agent: ReminderAgent, session: AgentSession) -> None:
    await session.start(agent)
    await agent.deliver().wait_for_playout()


async def test_the_reminder_says_who_calls_that_it_is_automated_and_how_to_opt_out() -> None:
    agent = ReminderAgent(job_for(), reminder_persona(), TextCall())
    text = agent.reminder_text()
    assert text.index("Maple Street Dental") < text.index("automated call")
    assert "say stop or press 9" in text and "Tuesday at 3 pm" in text


async def test_the_opt_out_key_opts_out_with_its_evidence_and_hangs_up() -> None:
    control = TextCall()
    agent = ReminderAgent(job_for(), reminder_persona(), control)
    async with AgentSession(llm=ScriptedLLM(person)) as session:
        agent.on_caller_key("9")  # before the reminder: nobody told them yet
        assert agent.decision is None
        await _delivered(agent, session)
        agent.on_caller_key("4")
        assert agent.decision is None
        agent.on_caller_key("9")
        await asyncio.wait_for(agent.ended.wait(), 30)
    assert agent.result() == ReportedOutcome(Outcome.OPTED_OUT, "opted out by key 9")
    assert control.reasons == ["the callee opted out"]


@pytest.mark.parametrize(
    ("said", "word"),
    [
        ("Stop!", "stop"),
        ("please just stop calling me", "stop calling"),
        ("unsubscribe me", "unsubscribe"),
    ],
)
async def test_an_opt_out_word_opts_out_whatever_the_model_would_say(said: str, word: str) -> None:
    control = TextCall()
    agent = ReminderAgent(job_for(), reminder_persona(), control)
    async with AgentSession(llm=ScriptedLLM(person)) as session:
        await _delivered(agent, session)
        message = llm.ChatMessage(role="user", content=[said])
        with pytest.raises(StopResponse):
            await agent.on_user_turn_completed(llm.ChatContext(), message)
        await asyncio.wait_for(agent.ended.wait(), 30)
    assert agent.result() == ReportedOutcome(
        Outcome.OPTED_OUT, f'opted out by voice: heard "{word}"'
    )


def test_words_are_matched_whole() -> None:
    script = reminder_persona().reminder
    assert reminder.opt_out_words_in("the bus stop is near", script) == "stop"
    assert reminder.opt_out_words_in("unstoppable", script) is None
    assert reminder.opt_out_words_in("yes i will be there", script) is None


SCREENER = "hi the person you're calling is using a screening service, say your name and why"


async def test_a_screener_hears_one_sentence_and_the_person_the_reminder() -> None:
    result, _, spoken = await converse_text(
        job_for(),
        reminder_persona(),
        Callee(SCREENER, ["hello this is jane", "yes i will be there"]),
    )
    assert spoken[0] == "Ava from Maple Street Dental, with an appointment reminder for Ann."
    assert "Tuesday at 3 pm" in spoken[1]  # the reminder, once the person picked up
    assert result.outcome is Outcome.COMPLETED
    assert result.detail == "screened, then the person picked up: confirmed"


async def test_a_screener_never_hears_the_voicemail_message() -> None:
    persona = reminder_persona()
    result, agent, spoken = await converse_text(job_for(), persona, Callee(SCREENER, []))
    assert spoken == ["Ava from Maple Street Dental, with an appointment reminder for Ann."]
    assert agent.voicemail_text() not in " ".join(spoken)
    assert result.outcome is Outcome.NO_ANSWER
    assert result.detail == "screened: the screener hung up"
