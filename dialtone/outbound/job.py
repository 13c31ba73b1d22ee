"""What a reminder job's templates may say: the contact's values, and what is missing.

The job itself is `dialtone.wire.ReminderJob`, written by the campaign dialer and read
by the reminder worker through the same model.
"""

from __future__ import annotations

import re

from ..personas import Persona, placeholders
from ..wire import ReminderJob


def job_values(job: ReminderJob, persona: Persona) -> dict[str, str]:
    """What templates may use: `name`, `agent` (the persona's name) and the variables."""
    found = {key: str(value) for key, value in job.variables.items()}
    found.setdefault("name", job.name or "there")
    found.setdefault("agent", persona.display_name)
    return found


def missing_values(job: ReminderJob, persona: Persona) -> list[str]:
    """Template variables this contact lacks (then the call is not placed)."""
    script = persona.reminder
    wanted: set[str] = set()
    for template in (script.opening, script.message, script.voicemail, script.screening):
        wanted |= placeholders(template)
    if script.menu_target is not None:
        wanted |= placeholders(script.menu_target)
    return sorted(wanted - set(job_values(job, persona)))


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render(template: str, values: dict[str, str]) -> str:
    """Fill `{name}` placeholders (check `missing_values` first)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def menu_target_for(job: ReminderJob, persona: Persona) -> str | None:
    """What a phone menu should lead to on this call (the persona's `menu_target`)."""
    target = persona.reminder.menu_target
    return None if target is None else render(target, job_values(job, persona)).strip() or None
