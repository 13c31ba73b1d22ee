"""Reading `trunks/*.yaml` into one desired state, with errors that point at the line.

PyYAML's `compose` keeps each node's position; we walk the node tree beside the loaded
data to map pydantic's error locations (`("inbound_trunks", 0, "numbers", 1)`) back to
`file:line:col`. The same positions serve duplicate names across files (both places are
shown) and missing environment variables (the line that references them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..yamlfile import YamlFileError, read_yaml
from .model import (
    PIN,
    DispatchRuleSpec,
    InboundTrunkSpec,
    OutboundTrunkSpec,
    TrunkFile,
    ascii_digits,
)
from .problems import Location, Problem, SpecError, errors
from .secrets import Secret, env_name, is_secret_header

Loc = tuple[str | int, ...]
_SECTIONS = "inbound_trunks, outbound_trunks and/or dispatch_rules"
S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class Marks:
    """Positions of every key and value of one file, by field path."""

    file: str
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def at(self, loc: Loc) -> Location:
        """The position of `loc`, or of its closest written ancestor."""
        for end in range(len(loc), -1, -1):
            found = self.positions.get(loc[:end])
            if found:
                return Location(self.file, *found)
        return Location(self.file)


@dataclass(frozen=True)
class Declared(Generic[S]):
    """One object as written: its model, the file it came from, where, and its path."""

    spec: S
    source: str  # file name relative to the trunks directory (kept in the marker)
    loc: Loc
    marks: Marks

    @property
    def location(self) -> Location:
        return self.marks.at(self.loc)

    @property
    def path(self) -> str:
        return format_loc(self.loc)

    def where(self, *sub: str | int) -> tuple[Location, str]:
        loc = self.loc + sub
        return self.marks.at(loc), format_loc(loc)


@dataclass
class DesiredState:
    """Everything the files declare, merged, with secrets resolved from the environment."""

    inbound: dict[str, Declared[InboundTrunkSpec]] = field(default_factory=dict)
    outbound: dict[str, Declared[OutboundTrunkSpec]] = field(default_factory=dict)
    rules: dict[str, Declared[DispatchRuleSpec]] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def secret(self, ref: str | None) -> Secret | None:
        """The resolved secret for `${VAR}`, or None for no reference."""
        if ref is None:
            return None
        return self.secrets.get(ref)

    def headers(self, written: Mapping[str, str]) -> dict[str, str]:
        """An outbound trunk's headers as sent: each `${VAR}` value resolved."""
        return {
            name: self.secrets[value].reveal() if value in self.secrets else value
            for name, value in written.items()
        }

    def pin(self, ref_or_digits: str | None) -> str:
        if not ref_or_digits:
            return ""
        if env_name(ref_or_digits):
            resolved = self.secrets.get(ref_or_digits)
            return resolved.reveal() if resolved else ""
        return ref_or_digits


def format_loc(loc: Loc) -> str:
    """`("inbound_trunks", 0, "numbers")` -> `inbound_trunks[0].numbers`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_directory(directory: Path, *, env: Mapping[str, str] | None = None) -> DesiredState:
    """Load and merge every `*.yaml`/`*.yml` in `directory`; raise SpecError listing all."""
    env = os.environ if env is None else env
    if not directory.is_dir():
        raise SpecError([Problem(Location(str(directory)), "", "no such directory")])
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise SpecError([Problem(Location(str(directory)), "", "no trunk files (*.yaml)")])
    problems: list[Problem] = []
    state = DesiredState()
    for file in files:
        parsed = _load_file(file, directory, problems)
        if parsed is not None:
            _merge(state, *parsed, problems)
    _resolve_secrets(state, env, problems)
    if errors(problems):
        raise SpecError(problems)
    return state


def _load_file(
    file: Path, directory: Path, problems: list[Problem]
) -> tuple[TrunkFile, Marks, str] | None:
    shown = str(file)
    try:
        document = read_yaml(file)
    except YamlFileError as exc:
        problems.append(Problem(Location(shown, exc.line, exc.column), "", exc.reason))
        return None
    marks = Marks(shown)
    data = document.data
    _record(document.node, (), marks, problems)
    if not isinstance(data, dict):
        problems.append(Problem(marks.at(()), "", f"expected a mapping with {_SECTIONS}"))
        return None
    try:
        model = TrunkFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _clean_loc(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(Problem(marks.at(loc), format_loc(loc), message))
        return None
    return model, marks, file.relative_to(directory).as_posix()


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    # pydantic adds validator names such as "function-before[...]" to some locations.
    return tuple(p for p in loc if isinstance(p, int) or not str(p).startswith("function-"))


def _record(node: yaml.Node, loc: Loc, marks: Marks, problems: list[Problem]) -> None:
    marks.positions.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                first = seen[key].start_mark.line + 1
                problems.append(
                    Problem(
                        Location(
                            marks.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1
                        ),
                        format_loc((*loc, key)),
                        f"key written twice (first on line {first})",
                    )
                )
            seen[key] = key_node
            marks.positions[(*loc, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            _record(value_node, (*loc, key), marks, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*loc, index), marks, problems)


def _merge(
    state: DesiredState, model: TrunkFile, marks: Marks, source: str, problems: list[Problem]
) -> None:
    state.files.append(marks.file)
    sections: list[tuple[str, list[Any], dict[str, Any], str]] = [
        ("inbound_trunks", list(model.inbound_trunks), state.inbound, "inbound trunk"),
        ("outbound_trunks", list(model.outbound_trunks), state.outbound, "outbound trunk"),
        ("dispatch_rules", list(model.dispatch_rules), state.rules, "dispatch rule"),
    ]
    for section, specs, into, what in sections:
        for index, spec in enumerate(specs):
            declared: Declared[Any] = Declared(spec, source, (section, index), marks)
            other = into.get(spec.name)
            if other is not None:
                where, path = declared.where("name")
                first, first_path = other.where("name")
                problems.append(
                    Problem(
                        where,
                        path,
                        f"{what} name {spec.name!r} is already used at {first} ({first_path})",
                    )
                )
                continue
            into[spec.name] = declared


def _secret_refs(state: DesiredState) -> list[tuple[str, Declared[Any], tuple[str, ...]]]:
    refs: list[tuple[str, Declared[Any], tuple[str, ...]]] = []
    trunks: list[Declared[Any]] = [*state.inbound.values(), *state.outbound.values()]
    for trunk in trunks:
        if trunk.spec.auth is not None:
            refs.append((trunk.spec.auth.password, trunk, ("auth", "password")))
    for outbound in state.outbound.values():
        for header, value in outbound.spec.headers.items():
            if env_name(value):
                refs.append((value, outbound, ("headers", header)))
    for rule in state.rules.values():
        if rule.spec.pin and env_name(rule.spec.pin):
            refs.append((rule.spec.pin, rule, ("pin",)))
    return refs


def _literal_credentials(state: DesiredState) -> list[Problem]:
    """A literal value in a header named like a credential, refused like a password."""
    problems = []
    for outbound in state.outbound.values():
        for header, value in outbound.spec.headers.items():
            if is_secret_header(header) and not env_name(value):
                where, path = outbound.where("headers", header)
                problems.append(
                    Problem(
                        where,
                        path,
                        "a literal secret is not allowed in a header named like a credential; "
                        "write ${ENV_VAR} and set that environment variable",
                    )
                )
    return problems


def _resolve_secrets(state: DesiredState, env: Mapping[str, str], problems: list[Problem]) -> None:
    problems += _literal_credentials(state)
    for ref, declared, sub in _secret_refs(state):
        name = env_name(ref)
        assert name is not None
        value = env.get(name, "")
        where, path = declared.where(*sub)
        if not value:
            problems.append(Problem(where, path, f"environment variable {name} is not set"))
            continue
        if sub == ("pin",):
            value = ascii_digits(value)
            if not PIN.match(value):
                problems.append(
                    Problem(where, path, f"environment variable {name} must hold digits")
                )
                continue
        if sub[0] == "headers" and any(ch in value for ch in "\r\n\0"):
            problems.append(Problem(where, path, f"environment variable {name} must be one line"))
            continue
        state.secrets[ref] = Secret(ref, value)
