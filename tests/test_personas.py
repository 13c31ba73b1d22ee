"""Persona files: validation errors name file and field; the dialed DID picks the persona."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialtone.personas import PersonaBook, PersonaError, load_persona

SHIPPED = Path(__file__).resolve().parents[1] / "personas"

MINIMAL = """\
display_name: Test Co
greeting: Hello
instructions: Be nice.
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_persona_is_valid_and_has_offline_phrases() -> None:
    book = PersonaBook.load(SHIPPED, "receptionist")
    persona = book.pick()
    assert persona.name == "receptionist"
    assert "hours" in persona.offline.intents
    assert "what are your hours" in persona.phrases()
    assert "Facts you may share" in persona.system_prompt()


def test_bad_number_names_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "clinic", MINIMAL + 'numbers: ["555-0100"]\n')
    with pytest.raises(
        PersonaError, match=r"clinic\.yaml: numbers\.0: .555-0100. is not an E\.164"
    ):
        load_persona(path)


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "clinic", MINIMAL + "greting: typo\n")
    with pytest.raises(PersonaError, match="greting"):
        load_persona(path)


def test_transfer_target_needs_one_destination(tmp_path: Path) -> None:
    text = MINIMAL + "transfer_targets:\n  - name: desk\n"
    with pytest.raises(PersonaError, match=r"transfer_targets\.0"):
        load_persona(write(tmp_path, "clinic", text))


def test_pick_prefers_dispatch_then_did_then_default(tmp_path: Path) -> None:
    write(tmp_path, "main", MINIMAL)
    write(tmp_path, "salon", MINIMAL + 'numbers: ["+15550100200"]\n')
    write(tmp_path, "spa", MINIMAL)
    book = PersonaBook.load(tmp_path, "main")
    assert book.pick(requested="spa", dialed_number="+15550100200").name == "spa"
    assert book.pick(dialed_number="+15550100200").name == "salon"
    assert book.pick(dialed_number="+15559999999").name == "main"
    with pytest.raises(
        PersonaError, match=r"'nobody' \(asked for by dispatch\).*known: main, salon, spa"
    ):
        book.pick(requested="nobody")


def test_one_number_two_personas_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a", MINIMAL + 'numbers: ["+15550100200"]\n')
    write(tmp_path, "b", MINIMAL + 'numbers: ["+15550100200"]\n')
    with pytest.raises(PersonaError, match=r"\+15550100200 is claimed by personas 'a' and 'b'"):
        PersonaBook.load(tmp_path, "a")


def test_unknown_default_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match="DIALTONE_PERSONA_DIR"):
        PersonaBook.load(tmp_path, "main")
    write(tmp_path, "main", MINIMAL)
    with pytest.raises(PersonaError, match="DIALTONE_DEFAULT_PERSONA"):
        PersonaBook.load(tmp_path, "other")


REMINDER = (
    MINIMAL
    + """\
reminder:
  disclosure: This is an automated call from {agent}. To stop these calls, say stop or press 9.
  opt_out:
    words: [stop, unsubscribe]
    key: "9"
"""
)


def test_a_reminder_persona_with_disclosure_and_opt_out_loads(tmp_path: Path) -> None:
    persona = load_persona(write(tmp_path, "clinic", REMINDER))
    assert persona.reminder.places_calls
    assert persona.reminder.opt_out is not None and persona.reminder.opt_out.key == "9"
    assert "unsubscribe" in persona.phrases()  # the offline recogniser expects them


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        (
            (
                "  disclosure: This is an automated call from {agent}. To stop these calls, say "
                "stop or press 9.\n",
                "",
            ),
            "reminder.disclosure",
            "missing",
        ),
        (("{agent}", "Test Co"), "reminder.disclosure", "must name the caller with {agent}"),
        (("an automated call", "a call"), "reminder.disclosure", "automated"),
        (
            ('  opt_out:\n    words: [stop, unsubscribe]\n    key: "9"\n', ""),
            "reminder.opt_out",
            "missing",
        ),
        (("[stop, unsubscribe]", "[unsubscribe]"), "reminder.opt_out.words", "'stop'"),
        (('key: "9"', 'key: "99"'), "reminder.opt_out.key", "one phone key"),
        (('key: "9"', 'key: "5"'), "reminder", "the opt-out key 5"),
    ],
)
def test_a_reminder_persona_without_disclosure_or_opt_out_is_refused_naming_the_field(
    tmp_path: Path, change: tuple[str, str], field: str, why: str
) -> None:
    text = REMINDER.replace(*change)
    assert text != REMINDER
    with pytest.raises(PersonaError) as caught:
        load_persona(write(tmp_path, "clinic", text))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'clinic.yaml'}: {field}: ")
    assert why in message


def test_a_persona_without_a_reminder_section_places_no_calls(tmp_path: Path) -> None:
    persona = load_persona(write(tmp_path, "desk", MINIMAL))
    assert not persona.reminder.places_calls


def test_each_load_reads_the_files_and_parses_only_the_changed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker loads the persona folder for every call: an edit (even one that keeps
    the file's size and is saved within the same clock tick) answers the next call,
    and an unchanged file is not parsed again."""
    import dialtone.personas as personas

    parsed: list[str] = []

    def counting(path: Path) -> personas.Persona:
        parsed.append(path.name)
        return load_persona(path)

    monkeypatch.setattr(personas, "load_persona", counting)
    write(tmp_path, "main", MINIMAL)
    write(tmp_path, "spa", MINIMAL)
    first = PersonaBook.load(tmp_path, "main")
    assert sorted(parsed) == ["main.yaml", "spa.yaml"]

    write(tmp_path, "spa", MINIMAL.replace("Hello", "Howdy"))
    second = PersonaBook.load(tmp_path, "main")
    assert parsed[2:] == ["spa.yaml"]
    assert second.pick(requested="spa").greeting == "Howdy"
    assert second.pick().greeting == "Hello"
    assert second.pick() is first.pick()  # frozen, so shared

    write(tmp_path, "spa", MINIMAL + "bogus: 1\n")
    with pytest.raises(PersonaError, match=r"spa\.yaml: bogus"):
        PersonaBook.load(tmp_path, "main")
    with pytest.raises(PersonaError, match=r"spa\.yaml: bogus"):  # never cached
        PersonaBook.load(tmp_path, "main")
