"""Where call recordings are kept: a folder under the data directory, or an S3 bucket.

A recording is found by its call record's id (`<record id>.wav` for simulated calls,
`<record id>.ogg` for real ones, whose in-agent recorder writes Ogg Opus), so the record
needs no extra column and a recording can never point at another call's audio. The
storage is a narrow protocol (`RecordingStorage`): the API and the console only ask for
one recording's size and a byte range of it, which both backends answer without reading
the whole file, so a browser can seek a long call.

`DIALTONE_RECORDING_URL=s3://bucket/prefix` selects the bucket; credentials and an
S3-compatible endpoint (MinIO, R2, Ceph) come from boto3's own settings
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL_S3`, ...).
`DIALTONE_RECORD_AUDIO=drop` keeps no audio at all; recordings older than
`DIALTONE_RECORDING_RETENTION_DAYS` are deleted by `prune_recordings`.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ..config import Settings

logger = logging.getLogger("dialtone.records")

#: Suffix -> media type, in the order they are looked for.
MEDIA_TYPES = {".wav": "audio/wav", ".ogg": "audio/ogg"}
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class RecordingError(ValueError):
    """A recording id or file that cannot be stored; the message says which."""


@dataclass(frozen=True)
class StoredRecording:
    key: str
    media_type: str
    size: int


class RecordingStorage(Protocol):
    def put(self, record_id: str, source: Path) -> None: ...

    def find(self, record_id: str) -> StoredRecording | None: ...

    def read(self, stored: StoredRecording, start: int, stop: int) -> bytes:
        """Bytes `start` up to (not including) `stop`."""
        ...

    def delete_older_than(self, cutoff: datetime) -> int: ...


def _key(record_id: str, suffix: str) -> str:
    if not _SAFE_ID.fullmatch(record_id):
        raise RecordingError(f"{record_id!r} is not a call record id")
    if suffix not in MEDIA_TYPES:
        raise RecordingError(f"a recording must be one of {', '.join(MEDIA_TYPES)}, not {suffix}")
    return f"{record_id}{suffix}"


class DirectoryRecordings:
    """Recordings as files in one folder (`DIALTONE_DATA_DIR/recordings` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, record_id: str, source: Path) -> None:
        key = _key(record_id, source.suffix)
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{key}.partial"
        shutil.copyfile(source, partial)
        partial.replace(self.root / key)  # a reader never sees half a file

    def find(self, record_id: str) -> StoredRecording | None:
        for suffix, media_type in MEDIA_TYPES.items():
            path = self.root / _key(record_id, suffix)
            if path.is_file():
                return StoredRecording(path.name, media_type, path.stat().st_size)
        return None

    def read(self, stored: StoredRecording, start: int, stop: int) -> bytes:
        with (self.root / stored.key).open("rb") as f:
            f.seek(start)
            return f.read(stop - start)

    def delete_older_than(self, cutoff: datetime) -> int:
        if not self.root.is_dir():
            return 0
        gone = 0
        for path in self.root.iterdir():
            if path.suffix in MEDIA_TYPES and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
                gone += 1
        return gone


class S3Recordings:
    """Recordings as objects under `prefix/` in one bucket, through a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""

    def put(self, record_id: str, source: Path) -> None:
        key = _key(record_id, source.suffix)
        self.client.upload_file(
            str(source),
            self.bucket,
            self.prefix + key,
            ExtraArgs={"ContentType": MEDIA_TYPES[source.suffix]},
        )

    def find(self, record_id: str) -> StoredRecording | None:
        from botocore.exceptions import ClientError

        for suffix, media_type in MEDIA_TYPES.items():
            key = self.prefix + _key(record_id, suffix)
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey"}:
                    continue
                raise
            return StoredRecording(key, media_type, int(head["ContentLength"]))
        return None

    def read(self, stored: StoredRecording, start: int, stop: int) -> bytes:
        got = self.client.get_object(
            Bucket=self.bucket, Key=stored.key, Range=f"bytes={start}-{stop - 1}"
        )
        data: bytes = got["Body"].read()
        return data

    def delete_older_than(self, cutoff: datetime) -> int:
        old: list[dict[str, str]] = []
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                if item["LastModified"] < cutoff:
                    old.append({"Key": item["Key"]})
        for i in range(0, len(old), 1000):  # S3's limit per DeleteObjects request
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": old[i : i + 1000]})
        return len(old)


def recording_storage(settings: Settings) -> RecordingStorage | None:
    """The settings' recording storage, or None under `DIALTONE_RECORD_AUDIO=drop`."""
    if settings.record_audio == "drop":
        return None
    if settings.recording_url:
        import boto3

        bucket, _, prefix = settings.recording_url.removeprefix("s3://").partition("/")
        return S3Recordings(boto3.client("s3"), bucket, prefix)
    return DirectoryRecordings(settings.data_dir / "recordings")


def keep_recording(settings: Settings, record_id: str | None, source: Path) -> bool:
    """Store `source` as the recording of call `record_id`; False if it was not kept.

    Never raises: a storage outage must not fail the call that was just recorded.
    """
    storage = recording_storage(settings)
    if storage is None or record_id is None or not source.is_file():
        return False
    try:
        storage.put(record_id, source)
    except Exception:
        logger.exception("could not store the call's recording", extra={"record_id": record_id})
        return False
    return True


def prune_recordings(settings: Settings, now: datetime | None = None) -> int:
    """Delete recordings older than the retention; how many went."""
    storage = recording_storage(settings)
    if storage is None:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.recording_retention_days)
    return storage.delete_older_than(cutoff)
