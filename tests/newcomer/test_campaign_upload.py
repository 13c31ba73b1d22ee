"""A clinic's first campaign upload through `dialtone serve`, made the way a newcomer
makes it: a spreadsheet saved with semicolons, a window written "9:00"."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .clone import clean_environment, dialtone_argv

TOKEN = "9f2c4e71b8a05d36e1c7f0a24b98d53c6e0a17f4"  # 40 random hex digits
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CAMPAIGN = {
    "name": "June check-ups",
    "persona": "reminder",
    "outbound_trunk": "ST_carrier_out",
    "caller_id": "+15550100100",
    "timezone": "America/New_York",
    "window": {"start": "9:00", "end": "17:30"},
}


@pytest.fixture
def api(clone: Path, tmp_path: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = clean_environment(
        clone, DIALTONE_API_TOKEN=TOKEN, DIALTONE_DATA_DIR=str(tmp_path / "data")
    )
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        dialtone_argv("serve", "--no-dial", "--port", str(port)),
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "dialtone serve did not start"
            try:
                if httpx.get(f"{base}/openapi.json", headers=AUTH, timeout=1).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def upload(base: str, csv: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/campaigns",
        headers=AUTH,
        data={"campaign": json.dumps(CAMPAIGN)},
        files={"contacts": ("contacts.csv", csv.encode(), "text/csv")},
        timeout=30,
    )


def test_semicolons_are_named_and_nine_oclock_is_read(api: str) -> None:
    refused = upload(api, "name;phone;appointment\nAnn Lee;+15550200001;Tuesday at 3 pm\n")
    assert refused.status_code == 422, refused.text
    assert "separated by ';', not commas" in refused.text
    created = upload(api, "name,phone,appointment\nAnn Lee,+15550200001,Tuesday at 3 pm\n")
    assert created.status_code == 201, created.text
    assert created.json()["settings"]["window"]["start"] == "09:00"
