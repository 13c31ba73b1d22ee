"""A deployment for the doctor to examine: the double with the repo's trunks applied.

The repo's own `trunks/` and `personas/` are copied into the test's directory so a test
can break one thing (a persona number, a trunk field) and leave the rest healthy.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from dialtone.__main__ import app
from dialtone.config import load_settings
from dialtone.doctor.audio import AudioProbe
from dialtone.doctor.result import Check, Report, Status
from dialtone.doctor.runner import DoctorOptions, run_doctor
from dialtone.trunkspec.apply import apply_plan
from dialtone.trunkspec.live import read_live
from dialtone.trunkspec.loader import load_directory
from dialtone.trunkspec.plan import compute_plan
from dialtone.wire import KNOWN_AGENT_NAMES
from tests.livekit_double import LiveKitDouble

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "doctor-test-carrier-password"


@pytest.fixture
def deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, livekit_double: LiveKitDouble
) -> Path:
    """tmp_path with trunks/ and personas/ copied from the repo; providers off."""
    shutil.copytree(REPO / "trunks", tmp_path / "trunks")
    shutil.copytree(REPO / "personas", tmp_path / "personas")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARRIER_SIP_PASSWORD", PASSWORD)
    monkeypatch.setenv("DIALTONE_PERSONA_DIR", str(tmp_path / "personas"))
    monkeypatch.setenv("DIALTONE_DEFAULT_PERSONA", "receptionist")
    monkeypatch.setenv("DIALTONE_PROFILE", "offline")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DEEPGRAM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def apply_trunks(double: LiveKitDouble, directory: Path) -> None:
    """Make the double hold what `directory` declares, as `dialtone trunks apply` would."""

    async def run() -> None:
        async with double.client() as lk:
            state = load_directory(directory, env={"CARRIER_SIP_PASSWORD": PASSWORD})
            plan = compute_plan(
                state,
                await read_live(lk.sip),
                agent_names=KNOWN_AGENT_NAMES,
                personas={"receptionist", "reminder"},
            )
            report = await apply_plan(plan, state, lk.sip)
            assert report.ok, report.render()

    asyncio.run(run())


@pytest.fixture
def healthy(deployment: Path, livekit_double: LiveKitDouble) -> LiveKitDouble:
    """The double holding the repo's trunks, exactly as the files say."""
    apply_trunks(livekit_double, deployment / "trunks")
    livekit_double.calls.clear()
    return livekit_double


Doctor = Callable[..., Report]


@pytest.fixture
def doctor() -> Doctor:
    """Run every check from the current environment, outside the CLI."""

    def run(
        options: DoctorOptions | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        probe: AudioProbe | None = None,
    ) -> Report:
        return asyncio.run(
            run_doctor(
                load_settings(),
                options or DoctorOptions(),
                env={"CARRIER_SIP_PASSWORD": PASSWORD},
                transport=transport,
                probe=probe,
            )
        )

    return run


def by_name(report: Report) -> dict[str, Check]:
    return {c.name: c for c in report.checks}


def failures(report: Report) -> dict[str, Check]:
    return {c.name: c for c in report.checks if c.status is Status.FAIL}


def sole_failure(report: Report, name: str) -> Check:
    """The check `name`, after asserting it is the only one that failed."""
    assert set(failures(report)) == {name}, failures(report)
    return by_name(report)[name]


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, ["doctor", *args], catch_exceptions=False)
