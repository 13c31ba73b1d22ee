"""The reminder section of a persona: templates checked at load, variables at call time."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialtone.outbound.job import job_values, missing_values, render
from dialtone.personas import PersonaError, load_persona

from .harness import job_for, reminder_persona


def test_reminder_persona_templates_render_the_contact() -> None:
    persona = reminder_persona()
    job = job_for(name="Ann", variables={"appointment": "Friday at ten"})
    assert missing_values(job, persona) == []
    text = render(persona.reminder.message, job_values(job, persona))
    assert "Friday at ten" in text and "{" not in text


def test_a_contact_without_a_template_variable_is_reported_missing() -> None:
    assert missing_values(job_for(variables={}), reminder_persona()) == ["appointment"]


def test_a_bad_template_names_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "display_name: X\ngreeting: Hi\ninstructions: Be brief.\n"
        "reminder:\n  message: 'Your visit on {appointment time}'\n",
        encoding="utf-8",
    )
    with pytest.raises(PersonaError, match=r"bad\.yaml.*reminder\.message"):
        load_persona(path)
