"""The package's shape: small modules, the agent programs outside the package.

A module over 600 lines has stopped being about one thing; the agent programs are
files a deployer edits, so the installed package must never need them to import.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def test_no_module_is_over_600_lines() -> None:
    too_long = {
        str(path.relative_to(ROOT)): lines
        for folder in ("dialtone", "agents")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_only_dialtone_is_installed_at_top_level() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'include = ["dialtone*"]' in pyproject
    assert not (ROOT / "agents" / "__init__.py").exists()


def test_the_package_never_imports_the_agent_programs() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "dialtone").rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.lstrip().startswith(("import agents", "from agents"))
    ]
    assert offenders == []
