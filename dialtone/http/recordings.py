"""`GET /v1/calls/{id}/recording`: a call's audio, with HTTP range requests.

A browser's `<audio>` element asks for byte ranges to seek, so one range
(`bytes=a-b`, `bytes=a-`, `bytes=-n`) is answered with 206 and `Content-Range`; a range
outside the file, or one this server does not parse, is 416 with the size, per RFC 9110.
Several ranges in one header are answered with the whole file (a server may ignore
Range). The bytes are streamed from the storage a chunk at a time, so a long call is
never held in memory. The console serves the same bytes behind its session cookie
(`console_web.pages`), through `recording_response`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from ..records.audio import RecordingStorage, StoredRecording
from .auth import require_token
from .services import Services
from .views import Id

router = APIRouter(dependencies=[Depends(require_token)])

CHUNK = 256 * 1024
# At most 18 digits: beyond any file's size, and an int() of 5,000 digits raises.
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """`(start, stop)` of the one range asked for, or None for the whole file."""
    if header is None or "," in header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise RangeNotSatisfiable
    first, last = match.groups()
    if not first:
        if not last or int(last) == 0:
            raise RangeNotSatisfiable
        return max(0, size - int(last)), size
    start = int(first)
    stop = size if not last else min(size, int(last) + 1)
    if start >= size or stop <= start:
        raise RangeNotSatisfiable
    return start, stop


def _chunks(
    storage: RecordingStorage, stored: StoredRecording, start: int, stop: int
) -> Iterator[bytes]:
    for at in range(start, stop, CHUNK):
        yield storage.read(stored, at, min(stop, at + CHUNK))


def recording_response(
    request: Request, storage: RecordingStorage | None, record_id: str
) -> Response:
    stored = storage.find(record_id) if storage is not None else None
    if storage is None or stored is None:
        raise HTTPException(404, f"no recording of call {record_id!r}")
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    try:
        wanted = parse_range(request.headers.get("range"), stored.size)
    except RangeNotSatisfiable:
        return Response(
            status_code=416, headers={**headers, "Content-Range": f"bytes */{stored.size}"}
        )
    start, stop = wanted or (0, stored.size)
    headers["Content-Length"] = str(stop - start)
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{stored.size}"
    return StreamingResponse(
        _chunks(storage, stored, start, stop),
        status_code=206 if wanted is not None else 200,
        media_type=stored.media_type,
        headers=headers,
    )


@router.get(
    "/v1/calls/{record_id}/recording",
    summary="The call's recording (stereo: caller left, agent right); byte ranges served",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}, "audio/ogg": {}}},
        206: {"description": "the byte range asked for"},
        404: {"description": "no recording of this call"},
        416: {"description": "the range is outside the file or malformed"},
    },
)
def get_recording(record_id: Id, request: Request, services: Services) -> Response:
    return recording_response(request, services.recordings, record_id)
