"""`dialtone console` in text mode, as a person at a terminal uses it: a real tmux pane
running the command on the offline profile, keys sent, the screen read back."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialtone.config import load_settings
from dialtone.records.job import records_store
from dialtone.records.models import CallOutcome, HangupBy
from dialtone.records.store import CallFilter

pytestmark = pytest.mark.audio  # starts the offline speech stack: ~10 s per console

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 90.0


class Pane:
    def __init__(self, name: str) -> None:
        self.name = name

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-J", "-S", "-200", "-t", self.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, text, "Enter"], check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, *, count: int = 1) -> str:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def console(data_dir: Path, tmp_path: Path) -> Iterator[Pane]:
    assert shutil.which("tmux"), "tmux is missing: run scripts/setup.sh"
    pane = Pane(f"dialtone-console-{uuid.uuid4().hex[:8]}")
    status = tmp_path / "status"
    env = {
        "PYTHONPATH": str(ROOT),
        "DIALTONE_PROFILE": "offline",
        "DIALTONE_DATA_DIR": str(data_dir),
        "LIVEKIT_URL": "",
    }
    command = (
        f"cd {shlex.quote(str(ROOT))} && "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + f" {shlex.quote(sys.executable)} -m dialtone console --text;"
        + f" echo exit=$? > {shlex.quote(str(status))}; sleep 600"
    )
    subprocess.run(
        ["tmux", "new-session", "-d", "-x", "200", "-y", "50", "-s", pane.name, command],
        check=True,
        env={**os.environ, "TMUX": ""},
    )
    pane.status = status  # type: ignore[attr-defined]
    try:
        yield pane
    finally:
        subprocess.run(["tmux", "kill-session", "-t", pane.name], check=False)


def exit_status(pane: Pane) -> str:
    status: Path = pane.status  # type: ignore[attr-defined]
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if status.exists() and status.read_text().strip():
            return status.read_text().strip()
        time.sleep(0.2)
    raise AssertionError(f"the console never exited; the screen:\n{pane.screen()}")


def test_a_conversation_ends_when_the_agent_hangs_up(console: Pane, data_dir: Path) -> None:
    console.wait_for("agent: Thank you for calling Maple Street Dental")
    console.type("what are your hours")
    screen = console.wait_for("Monday to Friday")
    assert "ms): We are open Monday to Friday" in screen  # the reply with its latency
    console.type("i would like to leave a message")
    console.wait_for("agent (", count=2)
    console.type("my name is john smith please call me back")
    console.wait_for("tool: take_message")
    console.type("no thank you goodbye")
    screen = console.wait_for("tool: end_call")
    assert exit_status(console) == "exit=0"
    screen = console.screen()
    assert "call ended: agent ended the call (hung up by agent)" in screen
    assert "no sound device" not in screen  # --text asked for text: no excuse line
    (record,) = records_store(load_settings(data_dir=data_dir)).list(CallFilter())[0]
    assert record.trunk == "console" and record.outcome is CallOutcome.COMPLETED
    assert record.hangup_by is HangupBy.AGENT
    assert record.tools == ["take_message", "end_call"]


def test_end_of_input_hangs_up_with_the_record_written(console: Pane, data_dir: Path) -> None:
    console.wait_for("agent: Thank you for calling")
    console.type("what are your hours")
    console.wait_for("Monday to Friday")
    console.keys("C-d")
    assert exit_status(console) == "exit=0"
    (record,) = records_store(load_settings(data_dir=data_dir)).list(CallFilter())[0]
    assert record.hangup_by is HangupBy.CALLER and record.outcome is CallOutcome.COMPLETED
    assert record.disconnect_reason == "the caller ended the input (EOF)"


def test_ctrl_c_hangs_up_with_the_record_written(console: Pane, data_dir: Path) -> None:
    console.wait_for("agent: Thank you for calling")
    console.keys("C-c")
    assert exit_status(console) == "exit=0"
    assert "Traceback" not in console.screen()
    (record,) = records_store(load_settings(data_dir=data_dir)).list(CallFilter())[0]
    assert record.hangup_by is HangupBy.CALLER
    assert record.disconnect_reason == "the caller pressed Ctrl-C"
