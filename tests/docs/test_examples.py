"""The shell examples in README.md and docs/*.md are run, so a reader can trust them.

Convention: every fenced ```bash block is RUN by this test; a block that cannot run
here (it needs a real LiveKit server or Docker, `make run`, a long-running server, or
`dialtone start`) is fenced ```console or ```text instead and is not run. Other shell
fence names (```sh, ```shell) and fences with no name are refused, so no example
escapes the choice.

The blocks of one file run in order in ONE bash session (`set -euo pipefail`), so a
later block may use a variable such as `$ID` set by an earlier one. The session has a
real `dialtone serve` on a free port (temporary SQLite database, LiveKit
pointed at the LiveKit double from tests/livekit_double, a stand-in and not LiveKit),
and these variables: `API` (its base URL), `DIALTONE_API_TOKEN`, `AUTH` (the bearer
header), `DIALTONE_DATA_DIR` (the server's), `LIVEKIT_*` (the double), and PATH with
this virtualenv's bin first, so `dialtone` resolves. It runs in a fresh directory with
copies of personas/, trunks/ and tests/scenarios/; files an example reads are written
by the example itself (a heredoc), so the whole block can be pasted as it is.

A block's `# ->` lines say what its output holds; every "quoted" string on such a line
must appear in the block's output. That check is deliberately light: the JSON a reader
sees depends on the clock (calling windows) and on ids.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialtone.db.engine import sqlite_url
from tests.campaigns.test_crash import TOKEN, api_process, free_port
from tests.livekit_double import LiveKitDouble

REPO = Path(__file__).resolve().parents[2]
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
README_MAX_LINES = 250
#: fences that would leave the reader guessing whether the example was checked ("" is a
#: fence with no language at all)
REFUSED_FENCES = {"", "sh", "shell", "zsh", "shell-session", "bash-session"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<lang>[^\s`]*)")
EXPECT = re.compile(r"^\s*#\s*->(?P<rest>.*)$")
QUOTED = re.compile(r'"([^"]+)"')
DONE = "@@docs-block-done"
START = "@@docs-block-start"


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it starts (for messages), its language and text."""

    line: int
    lang: str
    text: str

    def expected(self) -> list[str]:
        found: list[str] = []
        for line in self.text.splitlines():
            match = EXPECT.match(line)
            if match:
                found.extend(QUOTED.findall(match["rest"]))
        return found


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, indented ones (in lists) included."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, ticks, lang = opening["indent"], opening["ticks"], opening["lang"].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != ticks:
            body.append(lines[j].removeprefix(indent))
            j += 1
        assert j < len(lines), f"{path.name}:{i + 1}: a ``` fence is never closed"
        blocks.append(Block(i + 1, lang, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def bash_blocks(path: Path) -> list[Block]:
    return [b for b in fenced_blocks(path) if b.lang == "bash"]


def session_script(blocks: list[Block]) -> str:
    """One bash script: each block between markers, so the test can tell them apart."""
    parts = ["set -euo pipefail\n"]
    for n, block in enumerate(blocks):
        # The newline before the end marker: a block's output may not end with one.
        parts.append(f"echo '{START} {n}'\n{block.text}printf '\\n{DONE} {n}\\n'\n")
    return "".join(parts)


def outputs_by_block(output: str) -> dict[int, str]:
    """The output of each block that ran to its end, by the block's index."""
    found: dict[int, str] = {}
    for start in re.finditer(rf"^{START} (\d+)$", output, re.M):
        n = int(start[1])
        done = re.compile(rf"^{DONE} {n}$", re.M).search(output, start.end())
        if done:
            found[n] = output[start.end() : done.start()]
    return found


@dataclass(frozen=True)
class Server:
    """The running API and what a block's environment needs to reach it."""

    root: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("docs")
    copy_examples_inputs(root)
    port = free_port()
    with (
        LiveKitDouble() as double,
        api_process(root, double, port, "api", sqlite_url(root / "data")),
    ):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DIALTONE_", "LIVEKIT_", "DEEPGRAM_", "OPENAI_"))
        }
        env.update(
            API=f"http://127.0.0.1:{port}",
            DIALTONE_API_TOKEN=TOKEN,
            AUTH=f"Authorization: Bearer {TOKEN}",
            DIALTONE_DATA_DIR=str(root / "data"),
            DIALTONE_PROFILE="offline",
            LIVEKIT_URL=double.url,
            LIVEKIT_API_KEY=double.api_key,
            LIVEKIT_API_SECRET=double.api_secret,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONPATH=str(REPO),
        )
        yield Server(root, env)


def copy_examples_inputs(where: Path) -> None:
    """What the examples read by relative path, as in a checkout of the repository."""
    shutil.copytree(REPO / "personas", where / "personas")
    shutil.copytree(REPO / "trunks", where / "trunks")
    shutil.copytree(REPO / "tests" / "scenarios", where / "tests" / "scenarios")


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_bash_examples_run(doc: Path, server: Server) -> None:
    blocks = bash_blocks(doc)
    workdir = server.root / f"run-{doc.stem}"
    workdir.mkdir()
    copy_examples_inputs(workdir)
    done = subprocess.run(
        ["bash", "-c", session_script(blocks)],
        cwd=workdir,
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = outputs_by_block(done.stdout)
    failed = next((b for n, b in enumerate(blocks) if n not in outputs), None)
    where = f"{doc.name}:{failed.line}" if failed else doc.name
    assert done.returncode == 0, f"{where}: the ```bash block failed:\n{done.stdout[-4000:]}"
    # Every collected block ran to its end: none was skipped or cut short.
    assert sorted(outputs) == list(range(len(blocks))), done.stdout[-4000:]
    for n, block in enumerate(blocks):
        for wanted in block.expected():
            assert wanted in outputs[n], (
                f"{doc.name}:{block.line}: output lacks {wanted!r}:\n{outputs[n][-2000:]}"
            )


def test_every_doc_file_is_checked() -> None:
    """A new Markdown file in docs/ is picked up, and no shell fence dodges the choice."""
    on_disk = {REPO / "README.md", *(REPO / "docs").glob("*.md")}
    assert set(DOC_FILES) == on_disk
    refused = [
        f"{doc.name}:{b.line}: ```{b.lang} (use ```bash to run it, ```console if it "
        "cannot run, ```text for output)"
        for doc in DOC_FILES
        for b in fenced_blocks(doc)
        if b.lang in REFUSED_FENCES
    ]
    assert not refused, refused
    openings = sum(
        1
        for doc in DOC_FILES
        for line in doc.read_text(encoding="utf-8").splitlines()
        if re.match(r"^\s*`{3,}bash\s*$", line)
    )
    assert openings == sum(len(bash_blocks(doc)) for doc in DOC_FILES)


def test_readme_is_short() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/"


def test_docs_name_no_file_outside_the_repository() -> None:
    outside = re.compile(r"LIVEKIT_API\.md|OFFLINE_NOTES|/work/|\.\./shared")
    hits = [
        f"{doc.name}:{n}: {line.strip()}"
        for doc in DOC_FILES
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert not hits, hits


def test_docs_links_resolve() -> None:
    """Relative links between the docs point at files that exist."""
    link = re.compile(r"\]\((?!https?://|#|mailto:)([^)#\s]+)")
    broken = [
        f"{doc.name}: {target}"
        for doc in DOC_FILES
        for target in link.findall(doc.read_text(encoding="utf-8"))
        if not (doc.parent / target).exists()
    ]
    assert not broken, broken
