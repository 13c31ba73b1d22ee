"""The console's words for the system's codes. A manager reads "Caller hung up before
an answer"; the code (`abandoned`) stays in a tooltip for whoever reads the API."""

from __future__ import annotations

OUTCOMES = {
    "completed": "Talked and ended normally",
    "transferred": "Passed to a person",
    "voicemail": "Reached voicemail",
    "busy": "Line busy",
    "no_answer": "No answer",
    "declined": "Declined",
    "invalid_number": "Number not in service",
    "failed": "Could not connect",
    "abandoned": "Caller hung up before an answer",
    "worker_lost": "Call cut off (agent stopped)",
    "open": "In progress",
    "closed": "Ended",
}

TRANSFERS = {
    "completed": "Passed to a person",
    "no_answer": "Nobody picked up",
    "busy": "Line busy",
    "declined": "Declined",
    "voicemail": "Went to voicemail",
    "trunk_failure": "Could not connect",
    "dropped_after_connect": "Dropped after connecting",
    "refer_refused": "Phone system refused the transfer",
    "after_hours": "After hours: no one to take it",
}

TOOLS = {
    "take_message": "Took a message",
    "end_call": "Ended the call",
    "transfer_call": "Transferred the call",
    "transfer_to_human": "Transferred to a person",
    "confirm_appointment": "Confirmed the appointment",
    "cancel_appointment": "Cancelled the appointment",
    "request_reschedule": "Asked to reschedule",
    "opt_out": "Asked not to be called again",
}

CONTACT_STATES = {
    "pending": "Waiting for first call",
    "in_flight": "Being called now",
    "retry_wait": "Will try again",
    "completed": "Reached",
    "failed": "Could not be reached",
    "dnc": "Skipped: on do-not-call",
    "cancelled": "Cancelled",
    "exhausted": "No answer after every try",
}

CAMPAIGN_STATES = {
    "active": "Calling",
    "paused": "Paused",
    "cancelled": "Cancelled",
    "completed": "Finished",
}

DAYS = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}

KINDS = {
    "outcome": OUTCOMES,
    "transfer": TRANSFERS,
    "tool": TOOLS,
    "contact": CONTACT_STATES,
    "campaign": CAMPAIGN_STATES,
    "day": DAYS,
}


def say(code: object, kind: str) -> str:
    """The words for `code`, else the code with its underscores as spaces."""
    text = str(getattr(code, "value", code) or "")
    return KINDS[kind].get(text, text.replace("_", " ").capitalize())


def days_text(days: list[str]) -> str:
    """["mon", ..., "fri"] -> "Mon–Fri"; otherwise the days listed."""
    order = list(DAYS)
    picked = sorted({getattr(d, "value", d) for d in days}, key=order.index)
    if len(picked) == 7:
        return "every day"
    indexes = [order.index(d) for d in picked]
    if len(picked) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{DAYS[picked[0]]}–{DAYS[picked[-1]]}"
    return ", ".join(DAYS[d] for d in picked)
