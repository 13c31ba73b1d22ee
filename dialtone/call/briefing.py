"""The words of a private transfer: the brief the human hears, and reading their answer.

The cloud profile's LLM writes the brief from the conversation so far and reads the
human's answer; the offline profile (no model) fills a template and reads the answer by
phrase cues (`telephony/consult.py`). A model that fails, is slow, or answers out of
form (the cloud chain's last link is the offline rules) falls back to the offline way:
a transfer never waits on a model longer than its timeout.
"""

from __future__ import annotations

import asyncio
import logging

from livekit.agents import llm

from ..offline.dialogue import RuleLLM
from ..telephony.consult import ConsultReply, ReplyJudge, reply_from_words

logger = logging.getLogger("dialtone.transfer")

BRIEF_TIMEOUT_S = 3.0
JUDGE_TIMEOUT_S = 3.0
_BRIEF_MARK = "BRIEF:"

_BRIEF_PROMPT = (
    "You brief a staff member privately before a phone call is put through to them; the "
    "caller cannot hear you. In at most three short spoken sentences say who is calling "
    "and their number, why, and what was already said. End by asking whether they will "
    "take the call: they say yes or no, or press 1 or 2. Start your answer with "
    f"'{_BRIEF_MARK}' and use no other formatting."
)
_JUDGE_PROMPT = (
    "A staff member was asked whether they will take a phone call. From their words, "
    "answer with exactly one word: ACCEPT, DECLINE or UNCLEAR."
)


def is_model(model: llm.LLM) -> bool:
    """Whether `model` is a language model (not the offline profile's rules)."""
    return not isinstance(model, RuleLLM)


async def _complete(model: llm.LLM, system: str, user: str) -> str:
    chat = llm.ChatContext.empty()
    chat.add_message(role="system", content=system)
    chat.add_message(role="user", content=user)
    parts: list[str] = []
    async with model.chat(chat_ctx=chat, tool_choice="none") as stream:
        async for chunk in stream:
            if chunk.delta is not None and chunk.delta.content:
                parts.append(chunk.delta.content)
    return "".join(parts).strip()


def transcript(chat_ctx: llm.ChatContext, *, limit: int = 12) -> list[tuple[str, str]]:
    """The call so far as (role, text), the last `limit` spoken lines."""
    lines: list[tuple[str, str]] = [
        (str(item.role), item.text_content)
        for item in chat_ctx.items
        if isinstance(item, llm.ChatMessage)
        and item.role in ("user", "assistant")
        and item.text_content
    ]
    return lines[-limit:]


async def write_brief(
    model: llm.LLM,
    chat_ctx: llm.ChatContext,
    *,
    caller_number: str | None,
    target: str,
    fallback: str,
    limit_s: float = BRIEF_TIMEOUT_S,
) -> str:
    """The brief for `target`: written by the model, or `fallback` (the template)."""
    if not is_model(model):
        return fallback
    said = "\n".join(
        f"{'Caller' if role == 'user' else 'Agent'}: {text}" for role, text in transcript(chat_ctx)
    )
    user = f"Staff member: {target}\nCaller's number: {caller_number or 'hidden'}\n{said}"
    try:
        text = await asyncio.wait_for(_complete(model, _BRIEF_PROMPT, user), limit_s)
    except Exception as exc:  # any model failure: the template still briefs the human
        logger.warning("brief written from the template: %s", type(exc).__name__)
        return fallback
    if not text.startswith(_BRIEF_MARK) or len(text) <= len(_BRIEF_MARK) + 10:
        return fallback
    return text[len(_BRIEF_MARK) :].strip()


def reply_judge(model: llm.LLM, *, limit_s: float = JUDGE_TIMEOUT_S) -> ReplyJudge:
    """How the human's answer is read: phrase cues offline, the model in the cloud."""

    async def by_model(words: str) -> ConsultReply:
        cues = reply_from_words(words)
        if not is_model(model):
            return cues
        try:
            answer = await asyncio.wait_for(_complete(model, _JUDGE_PROMPT, words), limit_s)
        except Exception as exc:
            logger.warning("human's answer read by phrase cues: %s", type(exc).__name__)
            return cues
        word = answer.strip().upper()
        if word.startswith("ACCEPT"):
            return ConsultReply.ACCEPT
        if word.startswith("DECLINE"):
            return ConsultReply.DECLINE
        return cues  # UNCLEAR, or out of form: the phrase cues may still hear a no

    return by_model
