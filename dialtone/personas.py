"""Personas: who answers the phone, loaded from validated YAML files.

A persona is everything that differs between two businesses running the same agent:
what it says first, what it knows, how it sounds, whom it can hand a caller to, and the
phrases the keyless offline profile understands. Operators edit these files, so every
validation error names the file and the field to fix.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from .config import ConfigError
from .hours import parse_hours
from .wire import Phone
from .yamlfile import MAX_FILE_BYTES, load_yaml_model

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class PersonaError(ConfigError):
    """A persona file is missing or invalid; the message names file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Voice(_Strict):
    """The agent's voice per profile; each profile ignores the other's value."""

    cloud: str = "alloy"
    offline: str = "en-us+f3"
    speed: Annotated[float, Field(gt=0.5, le=2.0)] = 1.0


class TransferTarget(_Strict):
    """A human the agent may hand a caller to (see `dialtone/telephony/transfer.py`).

    `hours` is when a person is there ("Mon-Fri 08:00-17:00 America/New_York"; none means
    always); `extension` is the key(s) a caller may press to reach this target; `dtmf` is
    digits sent on the human's leg after they answer (their phone menu, e.g. "ww123#");
    `ring_seconds` is how long their phone rings before the caller is taken back.
    A bridge (warm transfer, or a cold one whose REFER the carrier refused) dials
    `phone`, or the user part of `sip_uri`, through `outbound_trunk`.
    """

    name: str
    phone: Phone | None = None
    sip_uri: str | None = None
    outbound_trunk: str | None = None
    kind: Literal["warm", "cold"] = "warm"
    hours: str | None = None
    extension: str | None = None
    dtmf: str | None = None
    ring_seconds: Annotated[int, Field(ge=5, le=120)] | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hours(value)
        return value

    @field_validator("extension")
    @classmethod
    def _extension(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[1-9][0-9]{0,5}", value):
            raise ValueError("extension must be 1-6 digits, not starting with 0 (the operator key)")
        return value

    @field_validator("dtmf")
    @classmethod
    def _dtmf(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9*#wW]{1,32}", value):
            raise ValueError("dtmf may use 0-9, *, # and w (a half-second pause)")
        return value

    @model_validator(mode="after")
    def _one_destination(self) -> TransferTarget:
        if bool(self.phone) == bool(self.sip_uri):
            raise ValueError("set exactly one of phone or sip_uri")
        if self.sip_uri and not self.sip_uri.startswith(("sip:", "sips:", "tel:")):
            raise ValueError("sip_uri must start with sip:, sips: or tel:")
        if self.kind == "warm" and self.outbound_trunk is None:
            raise ValueError("a warm transfer dials the human: set outbound_trunk (name or ST_ id)")
        return self


class Intent(_Strict):
    """One thing an offline caller may ask for, recognised from example phrases."""

    examples: list[str] = Field(min_length=1)
    reply: str = ""


class OfflineDialogue(_Strict):
    """The rule-based dialogue of the offline profile (which has no LLM).

    The built-in intents are `hours`, `message`, `transfer` and `goodbye`; a persona may
    add its own intents that just answer with a reply. `message_prompt` asks for the
    message; `message_saved` confirms it; `fallback` answers anything else. With transfer
    targets, `transfer` says `transfer_hold` and calls the transfer tool (its `reply` is
    for personas without targets).
    """

    intents: dict[str, Intent] = Field(default_factory=dict)
    message_prompt: str = "Sure. What message would you like me to pass on?"
    message_saved: str = "Thank you, I've passed your message on. Anything else?"
    transfer_hold: str = "Of course. Please hold while I connect you."
    fallback: str = "Sorry, I didn't catch that. I can tell you our hours or take a message."
    extra_phrases: list[str] = Field(default_factory=list)

    @field_validator("intents")
    @classmethod
    def _builtin_replies(cls, intents: dict[str, Intent]) -> dict[str, Intent]:
        for name, intent in intents.items():
            if name not in {"message", "transfer"} and not intent.reply:
                raise ValueError(f"intent {name!r} needs a reply")
        return intents


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(template: str) -> set[str]:
    """The `{variable}` names a reminder template uses."""
    return set(_PLACEHOLDER.findall(template))


#: Words that must be among a reminder's voice opt-out words: what a callee says first.
REQUIRED_OPT_OUT_WORD = "stop"
_AUTOMATED = re.compile(r"\b(automated|artificial|AI|virtual|recorded)\b", re.IGNORECASE)


class OptOut(_Strict):
    """How a callee stops reminder calls: saying any of `words`, or pressing `key`.

    Matched on the callee's words at any point of the call, by the agent's own code
    (not left to the language model), and recorded as do-not-call with the evidence.
    """

    words: list[str] = Field(min_length=1)
    key: str

    @field_validator("words")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        words = [" ".join(w.lower().split()) for w in value]
        if any(not w for w in words):
            raise ValueError("an empty opt-out word")
        if REQUIRED_OPT_OUT_WORD not in words:
            raise ValueError(f"must include {REQUIRED_OPT_OUT_WORD!r}, what callees say first")
        return words

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9*#]", value):
            raise ValueError("one phone key: 0-9, * or #")
        return value


class ReminderScript(_Strict):
    """What the outbound reminder agent says (`agents/reminder.py`).

    Templates take `{name}` (the contact's) and the contact's variables by name, e.g.
    `{appointment}`; a contact missing one is not called (the outcome says which). The
    call rings `ring_seconds` at most and lasts `max_call_seconds` at most.
    """

    opening: str = "Hello, this is {agent} calling for {name}."
    message: str = "This is a reminder of your appointment on {appointment}. Can you make it?"
    voicemail: str = (
        "Hello {name}, this is {agent} with a reminder of your appointment on {appointment}. "
        "Please call us if you need to change it. Goodbye."
    )
    #: The one sentence a call screener hears: who calls, and why (never the message).
    screening: str = "This is {agent}, with an appointment reminder for {name}."
    #: What to reach when a phone menu answers: words of the option ("the front desk")
    #: or an extension (e.g. "{extension}" from the contact's variables). Unset: a
    #: menu gets nothing and the attempt ends `no_answer`.
    menu_target: str | None = None
    confirmed: str = "Thank you, you're all set. See you then. Goodbye!"
    cancelled: str = "I've noted that you want to cancel; the office will be in touch. Goodbye!"
    reschedule: str = "I've noted that you'd like a new time; the office will call you. Goodbye!"
    opted_out: str = "Understood, we won't call you again. Goodbye!"
    transfer_hold: str = "Of course. Please hold while I connect you."
    ring_seconds: Annotated[int, Field(ge=5, le=120)] = 30
    max_call_seconds: Annotated[int, Field(ge=30, le=3600)] = 300
    #: Said right after the opening, on every answered call and in every voicemail: who
    #: is calling (`{agent}`), that the voice is automated, and how to opt out (a word
    #: and the key). Required: an artificial-voice call must identify the caller and
    #: offer an opt-out (docs/compliance.md).
    disclosure: str = Field("", validate_default=True)
    opt_out: OptOut | None = Field(None, validate_default=True)

    @field_validator("disclosure")
    @classmethod
    def _disclosure(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError(
                "missing: say who is calling ({agent}), that the voice is automated, and "
                "how to opt out, e.g. 'This is an automated call from {agent}. To stop "
                "these calls, say stop or press 9.'"
            )
        if "{agent}" not in value:
            raise ValueError("must name the caller with {agent} (the persona's display_name)")
        if not _AUTOMATED.search(value):
            raise ValueError("must say the voice is automated (automated, artificial, AI)")
        return value

    @field_validator("opt_out")
    @classmethod
    def _opt_out(cls, value: OptOut | None) -> OptOut | None:
        if value is None:
            raise ValueError("missing: words (including 'stop') and a key that opt out")
        return value

    @model_validator(mode="after")
    def _disclosure_says_the_opt_out(self) -> ReminderScript:
        if self.opt_out is None:  # reported on its own field
            return self
        said = self.disclosure.lower()
        if self.opt_out.key not in said:
            raise ValueError(f"disclosure must tell the callee the opt-out key {self.opt_out.key}")
        if not any(word in said for word in self.opt_out.words):
            raise ValueError("disclosure must tell the callee an opt-out word (e.g. stop)")
        return self

    @property
    def places_calls(self) -> bool:
        """False for a persona without a reminder section (it cannot be a campaign's)."""
        return self.opt_out is not None and bool(self.disclosure)

    @field_validator("opening", "message", "voicemail", "screening", "menu_target")
    @classmethod
    def _braces(cls, value: str | None) -> str | None:
        if value is None:
            return None
        stripped = _PLACEHOLDER.sub("", value)
        if "{" in stripped or "}" in stripped:
            raise ValueError("use {variable} placeholders (letters, digits, _) and no other braces")
        return value


class CallRecording(_Strict):
    """Whether calls are recorded, and the line said before the greeting when they are.

    Two-party-consent jurisdictions require every party to be told, so an enabled
    recording always has an announcement and the agent says it first, uninterruptible.
    """

    enabled: bool = False
    announce: str = "This call may be recorded for quality and training."

    @field_validator("announce")
    @classmethod
    def _spoken(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say something: callers must hear that the call is recorded")
        return value.strip()

    @property
    def announcement(self) -> str | None:
        """The line to say before the greeting, or None when calls are not recorded."""
        return self.announce if self.enabled else None


class Persona(_Strict):
    """A validated persona; `name` is the file's stem unless given."""

    name: str
    display_name: str
    greeting: str
    instructions: str
    goodbye: str = "Thank you for calling. Goodbye!"
    numbers: list[Phone] = Field(default_factory=list)
    voice: Voice = Voice()
    facts: dict[str, str] = Field(default_factory=dict)
    transfer_targets: list[TransferTarget] = Field(default_factory=list)
    offline: OfflineDialogue = OfflineDialogue()
    #: unvalidated for personas without a reminder section: they place no calls
    reminder: ReminderScript = Field(default_factory=ReminderScript.model_construct)
    recording: CallRecording = CallRecording()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("use lower-case letters, digits, '-' and '_' (max 63)")
        return value

    @field_validator("transfer_targets")
    @classmethod
    def _distinct_targets(cls, targets: list[TransferTarget]) -> list[TransferTarget]:
        names = [t.name.strip().lower() for t in targets]
        if len(set(names)) != len(names):
            raise ValueError("two transfer targets have the same name")
        keys = [t.extension for t in targets if t.extension is not None]
        if len(set(keys)) != len(keys):
            raise ValueError("two transfer targets have the same extension")
        return targets

    def system_prompt(self) -> str:
        """The LLM instructions: the persona's own, then its facts, then phone etiquette."""
        facts = "\n".join(f"- {key}: {value}" for key, value in self.facts.items())
        parts = [self.instructions.strip()]
        if facts:
            parts.append("Facts you may share with callers:\n" + facts)
        parts.append(
            "You are on a phone call. Keep answers short and spoken: no lists, no markdown, "
            "no emoji. Read numbers the way a person says them. When the caller is done, say "
            "goodbye and use end_call. To leave a message for the staff, use take_message."
        )
        if self.transfer_targets:
            names = ", ".join(t.name for t in self.transfer_targets)
            parts.append(
                f"You can connect the caller to a person ({names}): tell them to hold, then "
                "use transfer_to_human with a one-sentence reason the person will hear, and "
                "the extension if the caller named one. If it does not work, say so and "
                "offer to take a message."
            )
        return "\n\n".join(parts)

    def phrases(self) -> list[str]:
        """Every sentence the offline recogniser should expect a caller to say."""
        phrases = [p for intent in self.offline.intents.values() for p in intent.examples]
        opt_out = self.reminder.opt_out.words if self.reminder.opt_out else []
        return phrases + list(self.offline.extra_phrases) + list(opt_out)


def load_persona(path: Path) -> Persona:
    """Read one persona file; errors carry the path and the dotted field."""
    try:
        return load_yaml_model(path, Persona, defaults={"name": path.stem})
    except ConfigError as exc:
        raise PersonaError(str(exc)) from None


#: Each file's bytes and the persona they made, per absolute path, in this process.
_PARSED: dict[Path, tuple[bytes, Persona]] = {}
#: Calls on threads of one process (worker groups) load the folder at once.
_PARSED_LOCK = threading.Lock()


def _read_persona(path: Path) -> Persona:
    """`load_persona`, parsed again only when the file's bytes changed.

    Every call reads the persona folder, so an edited persona answers the next call;
    parsing and validating the YAML was most of that (about 1.5 ms a call, measured
    with bench/call_capacity.py's production shape), while reading the bytes to
    compare is a few microseconds. A persona is frozen, so calls can share one.
    """
    key = path.absolute()
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return load_persona(path)  # says what is wrong with the file
    with _PARSED_LOCK:
        known = _PARSED.get(key)
    if known is not None and known[0] == raw:
        return known[1]
    persona = load_persona(path)
    if len(raw) <= MAX_FILE_BYTES:
        with _PARSED_LOCK:
            _PARSED[key] = (raw, persona)
    return persona


class PersonaBook:
    """All personas of a directory, and the rule that picks one for a call."""

    def __init__(self, personas: dict[str, Persona], default: str) -> None:
        if default not in personas:
            known = ", ".join(sorted(personas)) or "none"
            raise PersonaError(
                f"default persona {default!r} not found (DIALTONE_DEFAULT_PERSONA); known: {known}"
            )
        self.personas = personas
        self.default = default
        self._by_number: dict[str, str] = {}
        for persona in personas.values():
            for number in persona.numbers:
                other = self._by_number.setdefault(number, persona.name)
                if other != persona.name:
                    raise PersonaError(
                        f"number {number} is claimed by personas {other!r} and {persona.name!r}"
                    )

    @classmethod
    def load(cls, directory: Path, default: str) -> PersonaBook:
        files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
        if not files:
            where = directory.resolve()
            raise PersonaError(f"{where}: no persona files (*.yaml); set DIALTONE_PERSONA_DIR")
        personas: dict[str, Persona] = {}
        for file in files:
            persona = _read_persona(file)
            if persona.name in personas:
                raise PersonaError(f"{file}: persona name {persona.name!r} is used twice")
            personas[persona.name] = persona
        return cls(personas, default)

    def pick(
        self,
        *,
        requested: str | None = None,
        dialed_number: str | None = None,
        asked_by: str = "dispatch",
    ) -> Persona:
        """Dispatch metadata wins, then the dialed DID, then the default.

        An unknown requested name is an error rather than a silent default: a dispatch
        rule that names a persona nobody wrote is a configuration bug worth hearing about.
        """
        if requested:
            if requested not in self.personas:
                known = ", ".join(sorted(self.personas))
                raise PersonaError(
                    f"persona {requested!r} (asked for by {asked_by}) is not defined; "
                    f"known: {known} (files in DIALTONE_PERSONA_DIR)"
                )
            return self.personas[requested]
        if dialed_number and dialed_number in self._by_number:
            return self.personas[self._by_number[dialed_number]]
        return self.personas[self.default]
