"""The reminder job: what the campaign dialer put in the dispatch metadata.

The metadata is written by `dialtone.campaigns.dialer.dispatch_metadata`; this is its
reader, strict, because a job we misread must not place a call. The callback token is
a `SecretStr`: it is never printed, logged or put in an error message.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ..campaigns.models import E164, Scalar
from ..personas import Persona, placeholders


class JobError(ValueError):
    """The dispatch metadata is not a reminder job this worker can run."""


class ReminderJob(BaseModel):
    """One attempt to call one contact (see the dialer's `dispatch_metadata`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal[1]
    kind: Literal["reminder"]
    attempt_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    attempt_number: int = Field(ge=1)
    campaign_id: str = Field(min_length=1, max_length=64)
    contact_id: int
    phone: str = Field(pattern=E164.pattern)
    name: str = ""
    timezone: str = "UTC"
    persona: str = Field(min_length=1, max_length=64)
    variables: dict[str, Scalar] = Field(default_factory=dict)
    outbound_trunk: str = Field(min_length=1, max_length=128)
    caller_id: str = Field(pattern=E164.pattern)
    callback_token: SecretStr

    @classmethod
    def from_metadata(cls, raw: str) -> ReminderJob:
        """Parse the job metadata; the error names the field, never a value."""
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise JobError(f"job metadata is not JSON ({exc.msg})") from None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            fields = ", ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(metadata)'}: {e['msg']}"
                for e in exc.errors(include_input=False)
            )
            raise JobError(f"job metadata is not a reminder job: {fields}") from None

    def values(self, persona: Persona) -> dict[str, str]:
        """What templates may use: `name`, `agent` (the persona's name) and the variables."""
        found = {key: str(value) for key, value in self.variables.items()}
        found.setdefault("name", self.name or "there")
        found.setdefault("agent", persona.display_name)
        return found

    def missing(self, persona: Persona) -> list[str]:
        """Template variables this contact lacks (then the call is not placed)."""
        script = persona.reminder
        wanted: set[str] = set()
        for template in (script.opening, script.message, script.voicemail):
            wanted |= placeholders(template)
        return sorted(wanted - set(self.values(persona)))


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render(template: str, values: dict[str, str]) -> str:
    """Fill `{name}` placeholders (check `ReminderJob.missing` first)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)
