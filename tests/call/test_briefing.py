"""The brief and the reading of the human's answer: model in the cloud, rules offline."""

from __future__ import annotations

from pathlib import Path

from livekit.agents.llm import ChatContext

from dialtone.call.briefing import reply_judge, write_brief
from dialtone.offline.dialogue import RuleBasedLLM
from dialtone.personas import PersonaBook
from dialtone.telephony.consult import ConsultReply
from tests.fakes import Reply, ScriptedLLM

PERSONAS = Path(__file__).resolve().parents[2] / "personas"


def call_so_far() -> ChatContext:
    chat = ChatContext.empty()
    chat.add_message(role="assistant", content="Maple Street Dental, how can I help?")
    chat.add_message(role="user", content="I need my prescription refilled, it's urgent")
    return chat


async def test_the_model_writes_the_brief_from_the_call() -> None:
    model = ScriptedLLM(lambda _chat: Reply("BRIEF: Jane on 555 0100 needs a refill today."))
    brief = await write_brief(
        model, call_so_far(), caller_number="+15550100", target="front desk", fallback="T"
    )
    assert brief == "Jane on 555 0100 needs a refill today."
    [request] = model.requests
    sent = " ".join(m.text_content or "" for m in request.messages())
    assert "prescription refilled" in sent and "+15550100" in sent and "front desk" in sent


async def test_an_answer_out_of_form_falls_back_to_the_template() -> None:
    model = ScriptedLLM(lambda _chat: Reply("Sorry, I didn't catch that."))
    brief = await write_brief(
        model, call_so_far(), caller_number=None, target="x", fallback="the template"
    )
    assert brief == "the template"


async def test_a_failing_model_falls_back_to_the_template() -> None:
    def boom(_chat: ChatContext) -> Reply:
        raise RuntimeError("provider down")

    brief = await write_brief(
        ScriptedLLM(boom), call_so_far(), caller_number=None, target="x", fallback="template"
    )
    assert brief == "template"


async def test_offline_rules_never_write_the_brief() -> None:
    persona = PersonaBook.load(PERSONAS, "receptionist").pick(requested=None, dialed_number=None)
    rules = RuleBasedLLM(persona)
    brief = await write_brief(rules, call_so_far(), caller_number=None, target="x", fallback="T")
    assert brief == "T"
    assert await reply_judge(rules)("no, I can't take it") is ConsultReply.DECLINE


async def test_the_model_reads_the_answer_and_phrase_cues_back_it_up() -> None:
    accept = reply_judge(ScriptedLLM(lambda _chat: Reply("ACCEPT")))
    assert await accept("mm, alright then") is ConsultReply.ACCEPT
    unsure = reply_judge(ScriptedLLM(lambda _chat: Reply("UNCLEAR")))
    assert await unsure("no I can't") is ConsultReply.DECLINE  # the cues still hear the no
