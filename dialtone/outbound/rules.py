"""The reminder's offline dialogue: the persona's intents mapped onto the reminder tools.

The offline profile has no LLM; this stands in for one with the same tool calls a model
would make, so the reminder agent's tools, outcomes and hang-up are the same in both
profiles. Intent names in the persona's `offline.intents` (see personas/reminder.yaml):
`confirm`, `cancel`, `reschedule`, `opt_out`, `transfer`, `goodbye`. An intent's `reply`
is said first, then its tool runs; the tool's answer holds the closing sentence in
double quotes, which is spoken with `end_call` (the call ends once it is heard).
"""

from __future__ import annotations

from livekit.agents import llm

from ..offline.dialogue import (
    _QUOTED,
    END_CALL,
    GOODBYE_THRESHOLD,
    PersonaRules,
    Turn,
    turn_items,
)
from ..offline.intents import match_intent

CONFIRM = "confirm_appointment"
CANCEL = "cancel_appointment"
RESCHEDULE = "request_reschedule"
OPT_OUT = "opt_out"
TRANSFER = "transfer_to_human"
DECISION_TOOLS = frozenset({CONFIRM, CANCEL, RESCHEDULE, OPT_OUT})
#: Putting a number on the do-not-call list on a misheard "no" loses a patient's
#: reminders for good; asking again costs one turn. So opting out needs a close match.
OPT_OUT_THRESHOLD = 0.75

#: intent name -> (tool, name of the argument that gets the person's words, or None)
INTENT_TOOLS: dict[str, tuple[str, str | None]] = {
    "confirm": (CONFIRM, None),
    "cancel": (CANCEL, "note"),
    "reschedule": (RESCHEDULE, "preferred_time"),
    "opt_out": (OPT_OUT, None),
    "transfer": (TRANSFER, "reason"),
}


class ReminderRules(PersonaRules):
    """A reminder persona's rule-based dialogue behind livekit-agents' LLM interface."""

    model_name = "reminder-rules"

    def decide(self, chat_ctx: llm.ChatContext, offered: set[str]) -> Turn:
        dialogue = self.persona.offline
        items = turn_items(chat_ctx)
        if not items:
            return Turn()
        last = items[-1]
        if last.type == "function_call_output":
            quoted = _QUOTED.search(last.output or "")
            sentence = quoted.group(1) if quoted else ""
            if last.name in DECISION_TOOLS and END_CALL in offered:
                return Turn(sentence, [(END_CALL, {})])
            return Turn(sentence)  # a transfer's answer, end_call: nothing more to do
        if last.type != "message" or last.role != "user":
            return Turn()
        said = (last.text_content or "").strip()
        intents = {name: intent.examples for name, intent in dialogue.intents.items()}
        found = match_intent(said, intents, threshold=self.threshold)
        if found is None or (found.intent == "goodbye" and found.score < GOODBYE_THRESHOLD):
            return Turn(dialogue.fallback)
        if found.intent == "opt_out" and found.score < OPT_OUT_THRESHOLD:
            return Turn(dialogue.fallback)
        if found.intent == "goodbye":
            reply = dialogue.intents["goodbye"].reply or self.persona.goodbye
            return Turn(reply, [(END_CALL, {})] if END_CALL in offered else [])
        tool = INTENT_TOOLS.get(found.intent)
        if tool is None or tool[0] not in offered:
            return Turn(dialogue.intents[found.intent].reply or dialogue.fallback)
        name, argument = tool
        arguments = {argument: said} if argument else {}
        reply = dialogue.intents[found.intent].reply
        if name == TRANSFER:
            reply = self.persona.reminder.transfer_hold
        return Turn(reply, [(name, arguments)])
