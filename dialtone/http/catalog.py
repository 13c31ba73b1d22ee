"""What a campaign may name: the personas and outbound trunks this deployment has.

A campaign naming a persona nobody wrote, or a trunk that does not exist, would be
accepted and then fail on every call; a contact without a variable the persona's
reminder says would never be called. So they are refused at creation, naming the field.

Trunks: an `ST_...` value is a LiveKit trunk id, passed through as it is (the dialer
cannot list LiveKit's trunks at creation time); any other value must be the `name` of
an outbound trunk declared in `DIALTONE_TRUNKS_DIR` (`trunks/*.yaml`, see
docs/trunks.md), which the reminder resolves to its id when it dials. Only the names
are read here: the API needs neither the carrier's password nor a valid whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..campaigns.models import RowError
from ..config import ConfigError, Settings
from ..personas import Persona, PersonaBook, placeholders

#: Values every reminder template may use without the contact giving them
#: (`dialtone.outbound.job.job_values`: the contact's name and the persona's).
ALWAYS_KNOWN = frozenset({"name", "agent"})
LIVEKIT_TRUNK_ID_PREFIX = "ST_"


def required_variables(persona: Persona) -> frozenset[str]:
    """The variables a contact must carry for this persona's reminder to be said."""
    script = persona.reminder
    used: set[str] = set()
    for template in (script.opening, script.message, script.voicemail):
        used |= placeholders(template)
    return frozenset(used - ALWAYS_KNOWN)


def outbound_trunk_names(directory: Path) -> set[str]:
    """The `outbound_trunks[].name` of every trunk file; unreadable files add none."""
    names: set[str] = set()
    files = [*directory.glob("*.yaml"), *directory.glob("*.yml")] if directory.is_dir() else []
    for file in files:
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        trunks = data.get("outbound_trunks") if isinstance(data, dict) else None
        for trunk in trunks if isinstance(trunks, list) else []:
            if isinstance(trunk, dict) and isinstance(trunk.get("name"), str):
                names.add(trunk["name"])
    return names


@dataclass(frozen=True)
class CampaignTargets:
    """The persona a campaign speaks as, once its persona and trunk were checked."""

    persona: Persona | None
    errors: list[RowError]

    @property
    def needs(self) -> frozenset[str]:
        return required_variables(self.persona) if self.persona else frozenset()


def check_targets(settings: Settings, persona: str, trunk: str) -> CampaignTargets:
    """Read the persona and trunk directories now: they may change while the API runs."""
    errors: list[RowError] = []
    found: Persona | None = None
    try:
        book = PersonaBook.load(settings.persona_dir, settings.default_persona)
    except ConfigError as exc:
        errors.append(RowError(None, "persona", f"the server's personas cannot be read: {exc}"))
    else:
        found = book.personas.get(persona)
        if found is None:
            known = ", ".join(sorted(book.personas))
            errors.append(
                RowError(
                    None,
                    "persona",
                    f"{persona!r} is not a persona in DIALTONE_PERSONA_DIR "
                    f"({settings.persona_dir}); known: {known}",
                )
            )
        elif not found.reminder.places_calls:
            errors.append(
                RowError(
                    None,
                    "persona",
                    f"persona {persona!r} has no reminder section (with its disclosure and "
                    "opt_out): it cannot place reminder calls",
                )
            )
            found = None
    if not trunk.startswith(LIVEKIT_TRUNK_ID_PREFIX):
        known_trunks = outbound_trunk_names(settings.trunks_dir)
        if trunk not in known_trunks:
            errors.append(
                RowError(
                    None,
                    "outbound_trunk",
                    f"{trunk!r} is neither a LiveKit trunk id (ST_...) nor an outbound trunk "
                    f"in DIALTONE_TRUNKS_DIR ({settings.trunks_dir}); known: "
                    f"{', '.join(sorted(known_trunks)) or 'none'}",
                )
            )
    return CampaignTargets(found, errors)
