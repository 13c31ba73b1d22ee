"""Recording storage: the data directory, an S3 bucket (a fake client), retention, drop."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dialtone.config import ConfigError, load_settings
from dialtone.records.audio import (
    DirectoryRecordings,
    RecordingError,
    S3Recordings,
    keep_recording,
    prune_recordings,
    recording_storage,
)

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)


class FakeS3:
    """The five calls S3Recordings makes, on a dict; unknown keys are S3's 404."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, datetime, str]] = {}

    def upload_file(self, path: str, bucket: str, key: str, ExtraArgs: dict[str, str]) -> None:
        self.objects[(bucket, key)] = (Path(path).read_bytes(), NOW, ExtraArgs["ContentType"])

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
        return {"ContentLength": len(self.objects[(Bucket, Key)][0])}

    def get_object(self, Bucket: str, Key: str, Range: str) -> dict[str, Any]:
        first, last = Range.removeprefix("bytes=").split("-")
        data = self.objects[(Bucket, Key)][0][int(first) : int(last) + 1]

        class Body:
            def read(self) -> bytes:
                return data

        return {"Body": Body()}

    def get_paginator(self, _name: str) -> Any:
        objects = self.objects

        class Pages:
            def paginate(self, Bucket: str, Prefix: str) -> list[dict[str, Any]]:
                return [
                    {"Contents": [{"Key": k, "LastModified": at}]}
                    for (b, k), (_, at, _) in objects.items()
                    if b == Bucket and k.startswith(Prefix)
                ]

        return Pages()

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> None:
        for item in Delete["Objects"]:
            del self.objects[(Bucket, item["Key"])]


def audio(tmp_path: Path, name: str = "call.wav", data: bytes = b"RIFF0123456789") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("backend", ["directory", "s3"])
def test_a_recording_is_found_by_its_record_id_and_read_by_range(
    tmp_path: Path, backend: str
) -> None:
    s3 = FakeS3()
    storage = (
        DirectoryRecordings(tmp_path / "recordings")
        if backend == "directory"
        else S3Recordings(s3, "clinic-audio", "calls/")
    )
    assert storage.find("rec1") is None
    storage.put("rec1", audio(tmp_path))
    storage.put("rec2", audio(tmp_path, "real.ogg", b"OggS"))
    found = storage.find("rec1")
    assert found is not None and found.media_type == "audio/wav" and found.size == 14
    assert storage.read(found, 4, 8) == b"0123"
    other = storage.find("rec2")
    assert other is not None and other.media_type == "audio/ogg"
    if backend == "s3":
        assert {k for _, k in s3.objects} == {"calls/rec1.wav", "calls/rec2.ogg"}


def test_an_id_that_is_a_path_is_refused(tmp_path: Path) -> None:
    storage = DirectoryRecordings(tmp_path / "recordings")
    with pytest.raises(RecordingError, match="not a call record id"):
        storage.put("../escape", audio(tmp_path))
    with pytest.raises(RecordingError, match="not a call record id"):
        storage.find("../../etc/passwd")


def test_retention_deletes_only_recordings_older_than_the_setting(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, recording_retention_days=30)
    storage = recording_storage(settings)
    assert storage is not None
    storage.put("old", audio(tmp_path))
    storage.put("new", audio(tmp_path))
    old = tmp_path / "recordings" / "old.wav"
    stamp = (NOW - timedelta(days=31)).timestamp()
    os.utime(old, (stamp, stamp))
    os.utime(tmp_path / "recordings" / "new.wav", (NOW.timestamp(), NOW.timestamp()))
    assert prune_recordings(settings, NOW) == 1
    assert storage.find("old") is None and storage.find("new") is not None


def test_s3_retention_deletes_by_last_modified(tmp_path: Path) -> None:
    s3 = FakeS3()
    storage = S3Recordings(s3, "b", "p")
    storage.put("old", audio(tmp_path))
    assert storage.delete_older_than(NOW - timedelta(days=1)) == 0
    assert storage.delete_older_than(NOW + timedelta(days=1)) == 1
    assert s3.objects == {}


def test_drop_keeps_no_audio(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, record_audio="drop")
    assert recording_storage(settings) is None
    assert keep_recording(settings, "rec1", audio(tmp_path)) is False
    assert not (tmp_path / "recordings").exists()


def test_keep_recording_survives_a_storage_failure(tmp_path: Path) -> None:
    blocked = tmp_path / "data"
    blocked.write_text("a file where the folder should be")
    settings = load_settings(data_dir=blocked)
    assert keep_recording(settings, "rec1", audio(tmp_path)) is False


def test_the_bucket_url_is_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_RECORDING_URL", "https://bucket/prefix")
    with pytest.raises(ConfigError, match=r"DIALTONE_RECORDING_URL: .*s3://bucket"):
        load_settings()
    monkeypatch.setenv("DIALTONE_RECORDING_URL", "s3://clinic-audio/calls/")
    assert load_settings().recording_url == "s3://clinic-audio/calls"


class _Job:
    """The two JobContext calls `keep_job_recording` makes; the callbacks run on demand."""

    def __init__(self, recorded: Path | None) -> None:
        self.recorded = recorded
        self.callbacks: list[Any] = []

    def add_shutdown_callback(self, callback: Any) -> None:
        self.callbacks.append(callback)

    def make_session_report(self, session: Any) -> Any:
        assert session.closed, "the report is made after the recorder finished"
        return type("Report", (), {"audio_recording_path": self.recorded})()


class _Session:
    closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_a_real_calls_ogg_is_kept_under_its_record_id_at_job_shutdown(
    tmp_path: Path,
) -> None:
    from dialtone.records.job import keep_job_recording

    settings = load_settings(data_dir=tmp_path / "data")
    job = _Job(audio(tmp_path, "audio.ogg", b"OggS-stereo-opus"))
    keep_job_recording(job, _Session(), lambda: "rec42", settings)  # type: ignore[arg-type]
    (callback,) = job.callbacks
    await callback("room deleted")
    assert (tmp_path / "data" / "recordings" / "rec42.ogg").read_bytes() == b"OggS-stereo-opus"


async def test_a_session_that_recorded_nothing_keeps_nothing(tmp_path: Path) -> None:
    from dialtone.records.job import keep_job_recording

    settings = load_settings(data_dir=tmp_path / "data")
    job = _Job(None)
    keep_job_recording(job, _Session(), lambda: "rec42", settings)  # type: ignore[arg-type]
    await job.callbacks[0]("done")
    assert not (tmp_path / "data" / "recordings").exists()
