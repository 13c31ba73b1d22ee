"""The fresh clone the newcomer tests run their commands in (one per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .clone import make_clone


@pytest.fixture(scope="session")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clone(tmp_path_factory.mktemp("clone"))
