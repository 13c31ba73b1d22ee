"""The worker's forkserver preloads what a call's job process imports.

A module the forkserver has not imported is imported again by every job process after
the fork: time before the call is answered and private memory per call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dialtone.config import load_settings
from dialtone.worker import build_server
from tests.programs import receptionist

ROOT = Path(__file__).resolve().parents[1]

# A job process as livekit-agents' forkserver leaves it (plugins and the preload list
# imported), then what answering or placing a call imports on top.
JOB = """
import importlib, json, sys
from livekit.plugins import deepgram, openai
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
from dialtone.programs import load_program  # the test's loader; a job runs the file
before = set(sys.modules)
from dialtone.config import load_settings
from dialtone.personas import PersonaBook
from dialtone.pipeline import build_pipeline, load_vad
settings = load_settings(profile="offline")
for program in ("receptionist", "reminder"):
    load_program(program, settings.agents_dir)
book = PersonaBook.load(settings.persona_dir, settings.default_persona)
build_pipeline(settings, book.pick(), load_vad())
print(json.dumps(sorted(m for m in set(sys.modules) - before if m.startswith("dialtone."))))
"""


def test_forkserver_preloads_every_dialtone_module_a_call_imports() -> None:
    server = build_server(
        load_settings(persona_dir=ROOT / "personas", profile="offline"),
        "receptionist",
        receptionist.entrypoint,
    )
    preload = server._preload_modules  # livekit-agents 1.8.9 keeps the option here
    assert preload and all(name.startswith("dialtone.") for name in preload)
    done = subprocess.run(
        [sys.executable, "-c", JOB, json.dumps(preload)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []
