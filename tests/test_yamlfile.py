"""Every YAML file dialtone reads is bounded: hostile or broken input gets one clear line.

Trunk files arrive by pull request, persona and scenario files are edited by hand; a
file of nested aliases ("billion laughs") must not take down a CI runner, and a
broken file must say where it is broken in lines and columns, not byte offsets.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dialtone.config import ConfigError
from dialtone.personas import PersonaError, load_persona
from dialtone.simulate.scenario import load_scenario
from dialtone.trunkspec.loader import load_directory
from dialtone.trunkspec.problems import SpecError
from dialtone.yamlfile import MAX_FILE_BYTES

REPO = Path(__file__).resolve().parents[1]

PERSONA = """\
display_name: Test Co
greeting: Hello
instructions: Be nice.
"""


def trunks_with(tmp_path: Path, name: str, content: bytes) -> Path:
    """A trunks directory holding one file `name` of `content`."""
    directory = tmp_path / "trunks"
    directory.mkdir()
    (directory / name).write_bytes(content)
    return directory


def alias_bomb() -> str:
    """Nine levels of nine aliases: a few hundred bytes that expand to 9**9 leaves."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


# Loads one file the way the product does, in a child process, and prints the error and
# how much the peak memory grew while loading (KiB on Linux).
_CHILD = """
import resource, sys
from pathlib import Path
kind, target = sys.argv[1], Path(sys.argv[2])
from dialtone.config import ConfigError
from dialtone.personas import load_persona
from dialtone.simulate.scenario import load_scenario
from dialtone.trunkspec.loader import load_directory
from dialtone.trunkspec.problems import SpecError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    if kind == "trunks":
        load_directory(target, env={})
    elif kind == "persona":
        load_persona(target)
    else:
        load_scenario(target)
    message = "loaded"
except (ConfigError, SpecError) as exc:
    message = str(exc)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(grown)
print(message)
"""


@pytest.mark.parametrize("kind", ["trunks", "persona", "scenario"])
def test_alias_bomb_is_refused_with_its_line_and_bounded_memory(kind: str, tmp_path: Path) -> None:
    directory = trunks_with(tmp_path, "bomb.yaml", alias_bomb().encode())
    target = directory if kind == "trunks" else directory / "bomb.yaml"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    grown_kib, message = done.stdout.split("\n", 1)
    assert "bomb.yaml:1:5: " in message, message
    assert "anchors" in message and "not allowed" in message, message
    assert int(grown_kib) < 32 * 1024, f"peak memory grew by {grown_kib} KiB"


def test_a_lone_alias_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yaml"
    path.write_text(PERSONA + "display_name: *name\n", encoding="utf-8")
    with pytest.raises(PersonaError, match=r"clinic\.yaml:4:15: YAML aliases \(\*name\)"):
        load_persona(path)


def test_file_over_the_size_limit_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yaml"
    padding = "# " + "x" * 98 + "\n"
    path.write_text(PERSONA + padding * (MAX_FILE_BYTES // len(padding) + 1), encoding="utf-8")
    with pytest.raises(PersonaError, match=r"clinic\.yaml: larger than 1 MiB"):
        load_persona(path)


def test_size_limit_is_one_mebibyte() -> None:
    assert MAX_FILE_BYTES == 1024 * 1024


def test_non_utf8_reports_line_and_column_not_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yaml"
    # "é" is two bytes: the bad byte is at character column 18 but byte column 19.
    path.write_bytes(b'display_name: Test Co\ngreeting: "h\xc3\xa9llo \xff"\ninstructions: x\n')
    with pytest.raises(PersonaError, match=r"clinic\.yaml:2:18: not UTF-8 text"):
        load_persona(path)


def test_control_character_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "call.yaml"
    path.write_text('steps:\n  - say: "hi\x00"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"call\.yaml:2:13: control characters"):
        load_scenario(path)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file_is_an_error_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "clinic.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PersonaError, match=r"clinic\.yaml: the file is empty"):
        load_persona(path)


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path) -> None:
    nested = "inbound_trunks: []\nextra: " + "[" * 900 + "]" * 900 + "\n"
    directory = trunks_with(tmp_path, "deep.yaml", nested.encode())
    with pytest.raises(SpecError, match=r"deep\.yaml:2:\d+: nested more than \d+ levels"):
        load_directory(directory, env={})


@pytest.mark.parametrize(
    ("value", "why"),
    [("1" + "0" * 5000, "int"), ("2024-13-45", "timestamp")],
)
def test_unreadable_scalar_names_its_line(tmp_path: Path, value: str, why: str) -> None:
    path = tmp_path / "clinic.yaml"
    path.write_text(PERSONA + f"greeting_delay: {value}\n", encoding="utf-8")
    with pytest.raises(PersonaError, match=rf"clinic\.yaml:4:17: cannot read this {why}"):
        load_persona(path)


def test_trunk_file_errors_use_the_same_reader(tmp_path: Path) -> None:
    latin1 = "inbound_trunks:\n  - name: caf\xe9\n".encode("latin-1")
    directory = trunks_with(tmp_path, "carrier.yaml", latin1)
    with pytest.raises(SpecError, match=r"carrier\.yaml:2:14: not UTF-8 text"):
        load_directory(directory, env={})


def test_a_file_indented_with_tabs_says_so(tmp_path: Path) -> None:
    from dialtone.yamlfile import read_yaml

    file = tmp_path / "carrier.yaml"
    file.write_text("inbound:\n\tname: carrier\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"carrier.yaml:2:1: indented with a tab: indent with spaces"
    ):
        read_yaml(file)
