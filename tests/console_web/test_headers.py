"""Every response says nosniff, TLS responses add HSTS, and no Range header makes a 5xx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from dialtone.db.engine import new_engine

from .conftest import TOKEN, Console, console_app

AUTH = {"Authorization": f"Bearer {TOKEN}"}
HUGE = "bytes=" + "9" * 5000 + "-"


@contextmanager
def signed_in(console: Console) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.url, follow_redirects=False) as client:
        page = client.get("/login")
        nonce = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert nonce is not None
        signin = client.post("/login", data={"password": TOKEN, "csrf": nonce.group(1)})
        assert signin.status_code == 303
        yield client


def test_every_kind_of_response_says_nosniff(console: Console) -> None:
    with signed_in(console) as client:
        answers = {
            "json": client.get("/v1/calls", headers=AUTH),
            "json error": client.get("/v1/calls"),
            "audio": client.get(f"/v1/calls/{console.call_id}/recording", headers=AUTH),
            "console audio": client.get(f"/calls/{console.call_id}/recording"),
            "csv": client.get("/calls.csv"),
            "static": client.get("/console-static/console.css"),
            "favicon": client.get("/favicon.ico"),
            "html": client.get("/"),
            "not found": client.get("/no-such-page"),
        }
    for kind, answer in answers.items():
        assert answer.status_code < 500, kind
        assert answer.headers.get("x-content-type-options") == "nosniff", kind
        assert "strict-transport-security" not in answer.headers, kind  # plain http here
    assert answers["favicon"].status_code == 200
    assert answers["csv"].headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize(
    "value",
    [
        HUGE,
        "bytes=-" + "9" * 5000,
        "bytes=0-" + "1" * 5000,
        "bytes=0-1," + "9" * 5000 + "-",
        "bytes=99999999-",
        "bytes=5-2",
        "pages=1-2",
    ],
)
def test_no_range_header_gets_a_server_error(console: Console, value: str) -> None:
    with signed_in(console) as client:
        for path, headers in (
            (f"/v1/calls/{console.call_id}/recording", AUTH),
            (f"/calls/{console.call_id}/recording", {}),
            ("/console-static/console.css", {}),
            ("/v1/calls", AUTH),
            ("/", {}),
        ):
            answer = client.get(path, headers={**headers, "Range": value})
            assert answer.status_code < 500, (path, value, answer.status_code)
            assert answer.headers.get("x-content-type-options") == "nosniff"
            if "recording" in path and value != "bytes=0-1," + "9" * 5000 + "-":
                assert answer.status_code == 416, (path, value)


def test_a_satisfiable_range_is_still_served(console: Console) -> None:
    with signed_in(console) as client:
        part = client.get(f"/calls/{console.call_id}/recording", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100


def test_tls_responses_carry_hsts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = new_engine(f"sqlite:///{tmp_path / 'tls.db'}")
    app = console_app(tmp_path, engine)
    with TestClient(app, base_url="https://console.test") as client:
        for path in ("/login", "/console-static/console.css", "/v1/calls"):
            answer = client.get(path)
            assert "max-age=" in answer.headers["strict-transport-security"], path
    engine.dispose()
