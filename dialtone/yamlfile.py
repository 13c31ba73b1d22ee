"""Reading the YAML files dialtone is given (trunks, personas, scenarios), bounded.

Trunk files arrive by pull request, so a hostile file must fail fast and small. None of
dialtone's formats needs YAML anchors or aliases, and aliases are how a few hundred
bytes expand to gigabytes ("billion laughs"): they are refused while the file is parsed
as a stream of events, before any node or object is built. The file size and the
nesting depth are capped for the same reason. Every refusal is one line naming
`file:line:col` (characters, not bytes), and never quotes the source line, which may
hold a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .config import ConfigError

M = TypeVar("M", bound=BaseModel)

#: The largest file read, in bytes: a thousand trunks take about 300 KiB.
MAX_FILE_BYTES = 1024 * 1024
#: The deepest nesting of lists and mappings; the formats need fewer than ten levels.
MAX_DEPTH = 32

# libyaml when available: ten times faster on a thousand trunks, and it keeps marks too.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlFileError(ConfigError):
    """A YAML file cannot be used; `str()` is `file:line:col: reason` (or `file: reason`)."""

    def __init__(self, file: str, reason: str, line: int = 0, column: int = 0) -> None:
        self.file = file
        self.reason = reason
        self.line = line
        self.column = column
        where = f"{file}:{line}:{column}" if line else file
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class YamlDocument:
    """One file's single document: the node tree (with positions) and its plain data."""

    node: yaml.Node
    data: Any


def read_yaml(path: Path) -> YamlDocument:
    """Parse `path` within the limits above; raise YamlFileError naming what to fix."""
    shown = str(path)
    text = _read_text(path, shown)
    _check_events(text, shown)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlFileError(shown, "the file is empty; write its content or delete it")
        try:
            data = loader.construct_document(node)
        except (ValueError, OverflowError, TypeError) as exc:
            raise _unreadable_scalar(node, shown, exc) from None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, shown) from None
    finally:
        loader.dispose()
    return YamlDocument(node, data)


def _read_text(path: Path, shown: str) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise YamlFileError(shown, f"cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise YamlFileError(
            shown, "larger than 1 MiB, the limit for dialtone's YAML files; split it"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        raise YamlFileError(
            shown,
            f"not UTF-8 text (byte 0x{raw[exc.start]:02X}); save the file as UTF-8",
            before.count(b"\n") + 1,
            column,
        ) from None
    return text.removeprefix("\ufeff")


def _check_events(text: str, shown: str) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, in one pass."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            reason = None
            if isinstance(event, yaml.AliasEvent):
                reason = f"YAML aliases (*{event.anchor}) are not allowed"
            elif isinstance(event, yaml.NodeEvent) and event.anchor is not None:
                reason = f"YAML anchors (&{event.anchor}) and aliases are not allowed"
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _at(event.start_mark, shown, f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if reason is not None:
                reason += " in dialtone files; write the value out"
                raise _at(event.start_mark, shown, reason)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, shown) from None


def _at(mark: Any, shown: str, reason: str) -> YamlFileError:
    """An error at a PyYAML mark (0-based), or at the file when there is none."""
    if mark is None:
        return YamlFileError(shown, reason)
    return YamlFileError(shown, reason, mark.line + 1, mark.column + 1)


def _syntax_error(exc: yaml.YAMLError, text: str, shown: str) -> YamlFileError:
    # Only the problem and its position: PyYAML's message quotes the source line.
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and _tab_at(text, mark.line):
            # PyYAML says "found character '\t' that cannot start any token"
            return _at(
                mark, shown, "indented with a tab: indent with spaces (YAML does not allow tabs)"
            )
        reason = f"YAML syntax error: {exc.problem or exc.context or 'invalid'}"
        return _at(mark, shown, reason)
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _line_column(text, exc.position)
        return YamlFileError(shown, f"{exc.reason} (U+{exc.character:04X})", line, column)
    return YamlFileError(shown, "YAML syntax error")


def _tab_at(text: str, line: int) -> bool:
    """Whether line `line` (0-based) starts its indentation with a tab."""
    lines = text.splitlines()
    if line >= len(lines):
        return False
    indent = lines[line][: len(lines[line]) - len(lines[line].lstrip(" \t"))]
    return "\t" in indent


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _unreadable_scalar(root: yaml.Node, shown: str, exc: Exception) -> YamlFileError:
    """A scalar YAML resolves to a type it then cannot build (`2024-13-45`, a huge int)."""
    constructor = yaml.constructor.SafeConstructor()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node)
            except (ValueError, OverflowError, TypeError) as error:
                kind = node.tag.rsplit(":", 1)[-1]
                reason = str(error).split(";", 1)[0]
                return _at(node.start_mark, shown, f"cannot read this {kind}: {reason}")
        elif isinstance(node, yaml.MappingNode):
            stack += [part for pair in reversed(node.value) for part in reversed(pair)]
        elif isinstance(node, yaml.SequenceNode):
            stack += reversed(node.value)
    return YamlFileError(shown, f"cannot read a value: {exc}")


def load_yaml_model(path: Path, model: type[M], *, defaults: dict[str, Any] | None = None) -> M:
    """Parse `path` as `model`; every problem is reported as `file: field.path: reason`."""
    raw = read_yaml(path).data
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of {model.__name__} fields at the top")
    for key, value in (defaults or {}).items():
        raw.setdefault(key, value)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
