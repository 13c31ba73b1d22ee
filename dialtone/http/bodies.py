"""Reading request bodies: a JSON object, a campaign upload (multipart + CSV), a key.

Each reader returns what it read or the 422 that says what to fix, so a route has one
`isinstance(..., JSONResponse)` check instead of its own parsing rules.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from ..campaigns.csvio import read_contacts_csv
from ..campaigns.models import RowErrors
from .errors import json_refusal, problem

MAX_IDEMPOTENCY_KEY = 255
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")
NOT_CREATED = "the campaign was not created"
#: Deepest nesting a body may have: a campaign needs 4 (contacts, a contact, its
#: variables); parsing and validating deeper input only costs the server.
MAX_JSON_DEPTH = 16

CampaignUpload = tuple[dict[str, Any], Iterable[tuple[int, Any]], RowErrors]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON: send a number or text")


def _depth(value: Any) -> int:
    """How deep `value` nests (iteratively: the input is not trusted to be shallow)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_object(data: str | bytes, field: str) -> dict[str, Any] | JSONResponse:
    """`data` as a JSON object, or the 422 naming `field`.

    Refused as what they are, never as a server error: integers past Python's
    int-string limit, NaN and Infinity, and nesting deeper than `MAX_JSON_DEPTH`.
    """
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        return json_refusal(field, exc)
    if _depth(value) > MAX_JSON_DEPTH:
        return json_refusal(field, RecursionError())
    if not isinstance(value, dict):
        return problem(None, field, "expected an object", "invalid body")
    return value


async def json_object(request: Request) -> dict[str, Any] | JSONResponse:
    """The request body as a JSON object, or the 422 that says why it is not one."""
    return parse_object(await request.body(), "(body)")


def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str | None:
    """The `Idempotency-Key` header checked: 1 to 255 visible ASCII characters, or 400."""
    if key is None:
        return None
    if len(key) > MAX_IDEMPOTENCY_KEY or not _KEY_CHARS.fullmatch(key):
        raise HTTPException(
            400, f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )
    return key


@contextlib.asynccontextmanager
async def campaign_upload(request: Request) -> AsyncIterator[CampaignUpload | JSONResponse]:
    """A multipart campaign: the `campaign` JSON field and the `contacts` CSV file.

    Use the contacts inside the `async with`: the upload is a spooled temporary file,
    streamed row by row while the contacts are stored, and closed on the way out.
    """
    async with request.form(max_files=1, max_fields=4) as form:
        spec_field = form.get("campaign")
        upload = form.get("contacts")
        if not isinstance(spec_field, str):
            yield problem(None, "campaign", "a form field with the campaign JSON", NOT_CREATED)
            return
        if not isinstance(upload, UploadFile):
            yield problem(None, "contacts", "a CSV file field named contacts", NOT_CREATED)
            return
        raw = parse_object(spec_field, "campaign")
        if isinstance(raw, JSONResponse):
            yield raw
            return
        file_errors = RowErrors()
        yield raw, read_contacts_csv(upload.file, file_errors), file_errors
