"""`GET /v1/calls/{id}/recording`: bearer auth, byte ranges a browser seeks with, 404/416."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .conftest import AUTH

RECORD_ID = "c0ffee00c0ffee00"


def stereo_wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(range(256)) * int(seconds * 16000 * 4 / 256))
    return out.getvalue()


@pytest.fixture
def wav(tmp_path: Path) -> bytes:
    data = stereo_wav()
    folder = tmp_path / "data" / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{RECORD_ID}.wav").write_bytes(data)
    return data


URL = f"/v1/calls/{RECORD_ID}/recording"


def test_the_whole_recording_is_wav_and_says_ranges_are_served(
    client: TestClient, wav: bytes
) -> None:
    got = client.get(URL, headers=AUTH)
    assert got.status_code == 200
    assert got.headers["content-type"] == "audio/wav"
    assert got.headers["accept-ranges"] == "bytes"
    assert got.content == wav
    with wave.open(io.BytesIO(got.content)) as w:
        assert w.getnchannels() == 2


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [("bytes=0-99", 0, 100), ("bytes=1000-", 1000, None), ("bytes=-44", -44, None)],
)
def test_a_range_is_206_with_its_content_range(
    client: TestClient, wav: bytes, header: str, start: int, stop: int | None
) -> None:
    got = client.get(URL, headers={**AUTH, "Range": header})
    assert got.status_code == 206
    assert got.content == wav[start:stop]
    first = start if start >= 0 else len(wav) + start
    assert (
        got.headers["content-range"] == f"bytes {first}-{first + len(got.content) - 1}/{len(wav)}"
    )
    assert got.headers["content-length"] == str(len(got.content))


def test_a_range_past_the_end_is_cut_to_the_file(client: TestClient, wav: bytes) -> None:
    got = client.get(URL, headers={**AUTH, "Range": f"bytes=10-{len(wav) * 2}"})
    assert got.status_code == 206 and got.content == wav[10:]


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=50-10", "bytes=-0", "pages=1-2"])
def test_an_unsatisfiable_or_malformed_range_is_416_with_the_size(
    client: TestClient, wav: bytes, header: str
) -> None:
    got = client.get(URL, headers={**AUTH, "Range": header})
    assert got.status_code == 416
    assert got.headers["content-range"] == f"bytes */{len(wav)}"


def test_no_token_no_audio(client: TestClient, wav: bytes) -> None:
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_call_without_a_recording_is_404_naming_it(client: TestClient) -> None:
    got = client.get("/v1/calls/abc123/recording", headers=AUTH)
    assert got.status_code == 404
    assert "abc123" in got.text
