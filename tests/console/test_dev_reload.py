"""`dialtone dev` restarts the worker on save (livekit-agents 1.8.9 no longer does):
watchfiles runs a stand-in worker that counts its starts in a file."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from watchfiles import Change

from dialtone.cli.reload import ReloadFilter, Watched, run_with_reload

DEADLINE_S = 20.0


def starts(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def watched(tmp_path: Path) -> Watched:
    for name in ("personas", "agents", "package"):
        (tmp_path / name).mkdir()
    (tmp_path / "personas" / "receptionist.yaml").write_text("name: receptionist\n")
    return Watched(
        persona_dir=tmp_path / "personas",
        agents_dir=tmp_path / "agents",
        package_dir=tmp_path / "package",
    )


def test_saving_a_persona_restarts_the_worker(watched: Watched, tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    worker = [
        sys.executable,
        "-c",
        f"open({str(log)!r}, 'a').write('start\\n'); import time; time.sleep(60)",
    ]
    stop = threading.Event()
    changed: list[list[str]] = []
    runner = threading.Thread(
        target=run_with_reload,
        args=(worker,),
        kwargs={"watched": watched, "on_restart": changed.append, "stop": stop},
    )
    runner.start()
    try:
        wait_until(lambda: starts(log) == 1, "the worker to start")
        persona = watched.persona_dir / "receptionist.yaml"
        persona.write_text("name: receptionist\ngreeting: Hello again.\n")
        wait_until(lambda: starts(log) == 2, "the worker to restart")
        assert changed == [[str(persona)]]
    finally:
        stop.set()
        runner.join(DEADLINE_S)
    assert not runner.is_alive()


@pytest.mark.parametrize(
    ("folder", "name", "reloads"),
    [
        ("personas", "clinic.yaml", True),
        ("personas", "notes.txt", False),
        ("agents", "receptionist.py", True),
        ("agents", "data.yaml", False),
        ("package", "pipeline.py", True),
        ("package", "pipeline.cpython-311.pyc", False),
        ("elsewhere", "trunk.yaml", False),
    ],
)
def test_what_reloads(
    watched: Watched, tmp_path: Path, folder: str, name: str, reloads: bool
) -> None:
    assert ReloadFilter(watched)(Change.modified, str(tmp_path / folder / name)) is reloads


def test_a_worker_that_stops_by_itself_is_reported_once(
    watched: Watched, capfd: pytest.CaptureFixture[str]
) -> None:
    """`dialtone dev` used to sit silent, waiting for a save, after the worker died."""
    stop = threading.Event()
    worker = [sys.executable, "-c", "raise SystemExit(3)"]
    runner = threading.Thread(
        target=run_with_reload, args=(worker,), kwargs={"watched": watched, "stop": stop}
    )
    runner.start()
    seen: list[str] = []
    try:
        wait_until(
            lambda: seen.append(capfd.readouterr().err) or "exit status 3" in "".join(seen),
            "the stop to be reported",
        )
        time.sleep(1.5)  # one more empty tick of the watcher: no second line
        seen.append(capfd.readouterr().err)
    finally:
        stop.set()
        runner.join(DEADLINE_S)
    assert "".join(seen).count("the worker stopped (exit status 3)") == 1
