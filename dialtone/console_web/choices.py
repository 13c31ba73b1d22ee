"""What the console offers to choose from: the configured personas (by display name)
and outbound trunks with the caller ids each may present. Read on each page, as the
files may change while the server runs; a file that cannot be read offers nothing
rather than breaking the page (`dialtone trunks validate` says what is wrong)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..config import ConfigError, Settings
from ..personas import PersonaBook


@dataclass(frozen=True)
class TrunkChoice:
    name: str
    numbers: tuple[str, ...]


def persona_names(settings: Settings) -> dict[str, str]:
    """Persona id -> the name callers hear ("receptionist" -> "Maple Street Dental")."""
    try:
        book = PersonaBook.load(settings.persona_dir, settings.default_persona)
    except (ConfigError, OSError, ValueError):
        return {}
    return {name: persona.display_name for name, persona in book.personas.items()}


def outbound_trunks(directory: Path) -> list[TrunkChoice]:
    found: dict[str, TrunkChoice] = {}
    files = [*directory.glob("*.yaml"), *directory.glob("*.yml")] if directory.is_dir() else []
    for file in sorted(files):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        trunks = data.get("outbound_trunks") if isinstance(data, dict) else None
        for trunk in trunks if isinstance(trunks, list) else []:
            if not isinstance(trunk, dict) or not isinstance(trunk.get("name"), str):
                continue
            numbers = trunk.get("numbers")
            listed = (
                tuple(n for n in numbers if isinstance(n, str)) if isinstance(numbers, list) else ()
            )
            found[trunk["name"]] = TrunkChoice(trunk["name"], listed)
    return sorted(found.values(), key=lambda t: t.name)
