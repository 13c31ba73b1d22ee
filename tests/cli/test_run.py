"""`dialtone run` with no LiveKit: a simulated call, then the console with that call in
it, as a newcomer meets it after `make run`. Run as a real process, signed in over HTTP
with the token it prints, and stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_newcomer import CLEARED

ROOT = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"(http://127\.0\.0\.1:(\d+)/)")
TOKEN = re.compile(r"token:\s+(\S+)")


def run_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    base.pop("DIALTONE_API_TOKEN", None)
    base.pop("DIALTONE_CONSOLE_PASSWORD", None)
    return {
        **base,
        "PYTHONPATH": str(ROOT),
        "DIALTONE_DATA_DIR": str(tmp_path / "data"),
        "DIALTONE_PROFILE": "offline",
        **extra,
    }


class Lines:
    """The process's merged output, read on a thread so a wait can time out."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stream = process.stdout

        def pump() -> None:
            for line in stream:
                self._queue.put(line)
            self._queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, pattern: re.Pattern[str], within: float) -> re.Match[str]:
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if found := pattern.search(line):
                return found
        raise AssertionError(f"no line matching {pattern.pattern}:\n{''.join(self.seen)}")

    def rest(self) -> str:
        while (line := self._queue.get(timeout=30)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dialtone", "run", "--port", "0"],
        cwd=tmp_path,
        env=run_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, Lines(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def sign_in(client: httpx.Client, token: str) -> None:
    form = client.get("/login")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert nonce is not None, form.text
    signed = client.post("/login", data={"password": token, "csrf": nonce.group(1)})
    assert signed.status_code == 303, signed.text


@pytest.mark.audio
def test_make_run_serves_the_console_with_the_simulated_call_in_it(
    demo: tuple[subprocess.Popen[str], Lines],
) -> None:
    process, lines = demo
    found = lines.wait_for(URL_LINE, within=300)
    line = lines.seen[-1]
    token = TOKEN.search(line)
    assert token is not None, line  # no DIALTONE_API_TOKEN: a one-off token is printed
    with httpx.Client(base_url=found.group(1), timeout=30) as client:
        assert client.get("/calls").status_code in (302, 303, 307)  # signed out: refused
        sign_in(client, token.group(1))
        calls = client.get("/calls")
        assert calls.status_code == 200
        ids = re.findall(r'href="/calls/([A-Za-z0-9_-]+)"', calls.text)
        assert ids, calls.text
        call = client.get(f"/calls/{ids[0]}")
        assert "Maple Street Dental" in call.text
        inbox = client.get("/messages")
        assert inbox.status_code == 200 and "+15551230000" in inbox.text, inbox.text
        audio = client.get(f"/calls/{ids[0]}/recording", headers={"Range": "bytes=0-4095"})
        assert audio.status_code == 206, audio.text
        assert audio.headers["content-type"] == "audio/wav" and audio.content[:4] == b"RIFF"
        assert len(audio.content) == 4096

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0, lines.rest()
    assert "Traceback" not in lines.rest()


def on_a_taken_port(
    tmp_path: Path, command: str, **env: str
) -> tuple[int, subprocess.CompletedProcess[str]]:
    """`dialtone <command> --port P` while another socket listens on P."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "dialtone", command, "--port", str(port)],
            cwd=tmp_path,
            env=run_env(tmp_path, **env),
            capture_output=True,
            text=True,
            timeout=60,
        )
    return port, result


def test_a_taken_port_is_one_line_before_any_call_is_played(tmp_path: Path) -> None:
    port, result = on_a_taken_port(tmp_path, "run")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(port) in errors[0] and "--port" in errors[0], result.stderr
    assert "simulated call" not in result.stderr + result.stdout  # no call played for nothing


@pytest.mark.audio
def test_no_serve_plays_the_call_records_it_and_exits(tmp_path: Path) -> None:
    """The path for scripts: the same recorded call, then exit 0, no server."""
    result = subprocess.run(
        [sys.executable, "-m", "dialtone", "run", "--no-serve"],
        cwd=tmp_path,
        env=run_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "result: PASS" in result.stdout and "Web console" not in result.stdout
    assert len(list((tmp_path / "data" / "recordings").glob("*.wav"))) == 1


def test_a_taken_port_for_dialtone_serve_is_one_line_too(tmp_path: Path) -> None:
    port, result = on_a_taken_port(
        tmp_path, "serve", DIALTONE_API_TOKEN="taken-port-token-Hq7vN2xK9mR4tW8pZ3bL"
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"port {port} " in errors[0], result.stderr
